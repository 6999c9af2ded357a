/** Logging sink with Node-RED's levels (a node's debug/log/warn/error). Nothing below nodes/ logs a secret. */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Drops every line: the default where no caller asked to hear anything (editor calls, tests, benchmarks). */
export const SILENT_LOGGER: Logger = Object.freeze({
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
});

/** What the transports take: debug lines always, the other levels when their owner listens to them. */
export type DebugLogger = Pick<Logger, 'debug'> & Partial<Omit<Logger, 'debug'>>;
