import type { Logger } from '../util/logger';
import type { PanelTransport } from '../transport/transport';
import type { TimingPolicy } from './timing';
import type { ApiWatch } from './types';

/** Why a transport is being (re)created: 'auth' means the previous attempt was rejected by the panel. */
export type TransportCause = 'start' | 'auth';

export interface SupervisorOptions {
  /**
   * Creates the transport (and detects the API on `auto`). Called at start, after every authentication
   * rejection (so credentials changed meanwhile are re-read; `authRejections` counts the rejections in a
   * row), after the API watch dropped a transport, and after restart(). May throw a PanelError.
   */
  createTransport: (
    signal: AbortSignal,
    cause: TransportCause,
    authRejections: number,
  ) => Promise<PanelTransport>;
  /** Re-tests the API decision (`auto` only); absent = the API detected first is kept. */
  apiWatch?: ApiWatch;
  /** Called once by stop(), after the transport is closed (releases what createTransport shares). */
  dispose?: () => void;
  /** Poll / snapshot interval P in ms. 0 = push every change (v2 only); health is then checked every 5 s. */
  intervalMs: number;
  /** Names the panel in log lines, e.g. "SPAN panel 192.168.1.20". Never a secret. */
  label: string;
  logger?: Logger;
  timing?: Partial<Omit<TimingPolicy, 'intervalMs' | 'recoveryBoundMs'>>;
  /** `offline` after this many consecutive failed cycles… */
  offlineAfterFailures?: number;
  /** …and at least this long since the first failure (default min(15 s, 3·P)). */
  offlineAfterMs?: number;
  /** First probe after an authentication rejection (default 10 s); doubles per probe… */
  authProbeInitialMs?: number;
  /** …up to this period (default 5 min); ±20 % jitter. */
  authProbeMs?: number;
  backoffInitialMs?: number;
  /** Watchdog period (default max(2·P, 2·cap)). */
  watchdogMs?: number;
  random?: () => number;
}
