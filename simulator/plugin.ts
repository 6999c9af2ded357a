/**
 * The plugin contract of the simulated panel (how the v2 face and others attach to SimulatedPanel), in its own
 * module so a plugin imports it without importing the panel that loads the plugin (no import cycle).
 * The hook is described in the header of panel.ts.
 */
import type { TokenRegistry } from './auth/tokens';
import type { FaultController, PluginFaultHandler } from './faults/controller';
import type { RequestHandler } from './http/server';
import type { PanelState } from './state';

export interface SimPluginContext {
  state: PanelState;
  faults: FaultController;
  tokens: TokenRegistry;
  /** Where the panel's API listener is. */
  http: { host: string; port: number };
}

export interface SimPlugin {
  name: string;
  start(ctx: SimPluginContext): Promise<{ mqtt?: number } | void>;
  close(): Promise<void>;
  httpHandler?: RequestHandler;
  faultHandlers?: Record<string, PluginFaultHandler>;
  clearFaults?: () => void | Promise<void>;
}
