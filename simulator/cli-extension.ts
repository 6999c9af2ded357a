/**
 * How another face of the simulator (the v2 MQTT/Homie plugin) adds command-line options without editing
 * cli.ts: export `cliExtension: CliExtension` from simulator/v2/cli-extension.ts and the CLI picks it up
 * (e.g. --api v1|v2|both, --data-model flat|parent-child, returning the v2 plugin when asked for).
 */
import type { SimPlugin } from './plugin';

export interface CliOptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  default?: string | boolean;
}

export interface CliExtension {
  /** Extra node:util parseArgs options. */
  options: Record<string, CliOptionSpec>;
  /** Lines appended to --help. */
  usage: string;
  /** Throws Error(message) for invalid values; returns the plugins to start. */
  plugins(values: Record<string, unknown>): SimPlugin[] | Promise<SimPlugin[]>;
}
