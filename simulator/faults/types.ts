/**
 * Fault specifications, the same objects whether injected from code (`panel.faults.inject(...)`) or as the
 * JSON body of `POST /faults` on the control port.
 *
 * Request faults (status, hang, delay, malformed, truncated, reset) are rules matched against each request
 * on the HTTP port: `path` (exact, or a prefix ending in '*'; default all paths), `method` (default all),
 * limited by `count` (requests) and/or `durationMs` (from injection); neither = until cleared.
 * The first active matching rule, in injection order, applies.
 *
 * Action faults act once on the panel: refused (listener closed), token-revoked, proximity, reboot.
 * Plugins (the v2 face) add their own kinds; see FaultController.registerKind.
 */

export interface FaultScope {
  /** Exact path, or a prefix ending in '*' ('/api/v1/*'). Query strings are ignored. Default: all paths. */
  path?: string;
  /** HTTP method; default all. */
  method?: string;
  /** Apply to this many matching requests, then expire. */
  count?: number;
  /** Expire this many ms after injection. */
  durationMs?: number;
}

export interface StatusFault extends FaultScope {
  kind: 'status';
  /** e.g. 500, 502, 503, 504. */
  status: number;
  /** Sent as `Retry-After: <seconds>`. */
  retryAfterS?: number;
  /** Body override. Default: nginx's HTML page for 502/503/504, `{"detail": "<reason>"}` otherwise. */
  body?: string;
  contentType?: string;
}

export interface HangFault extends FaultScope {
  /** Accept the request and never answer (the socket is destroyed when the panel closes). */
  kind: 'hang';
}

export interface DelayFault extends FaultScope {
  /** Answer normally after `delayMs`. */
  kind: 'delay';
  delayMs: number;
}

export type MalformedVariant = 'invalid-json' | 'json-string' | 'missing-fields';

export interface MalformedFault extends FaultScope {
  /**
   * 200 with a broken body: 'invalid-json' (the real body cut in half, exact Content-Length), 'json-string'
   * (a JSON string instead of an object), 'missing-fields' (the real body without the `omit` paths).
   */
  kind: 'malformed';
  variant: MalformedVariant;
  /**
   * Dot paths removed for 'missing-fields'; '*' matches every key at that level
   * ('circuits.*.instantPowerW'). Default: every top-level key but the first.
   */
  omit?: string[];
}

export interface TruncatedFault extends FaultScope {
  /** The real status and headers, Content-Length larger than the bytes sent, then FIN or RST. */
  kind: 'truncated';
  closeWith?: 'fin' | 'rst';
  /** Bytes of the body actually sent. Default: min(20, half the body). */
  sendBytes?: number;
  /** Content-Length announced. Default: the real body's length. */
  declaredLength?: number;
}

export interface ResetFault extends FaultScope {
  /** Close the connection with no response at all: FIN ('fin', client: socket hang up) or RST. */
  kind: 'reset';
  closeWith?: 'fin' | 'rst';
}

export type RequestFault =
  StatusFault | HangFault | DelayFault | MalformedFault | TruncatedFault | ResetFault;

export interface RefusedFault {
  /** Close the HTTP listener (connection refused); reopen on the same port after `durationMs`, or on clear. */
  kind: 'refused';
  durationMs?: number;
}

export interface TokenRevokedFault {
  /** Revoke one token, or every registered token. */
  kind: 'token-revoked';
  token?: string;
}

export interface ProximityFault {
  kind: 'proximity';
  open: boolean;
  /** How long the window stays open; default 15 min. */
  windowMs?: number;
}

export interface RebootFault {
  /**
   * Reboot: state.reboot(counterDipWh); optionally refused for `refusedMs`, then `unavailableStatus`
   * (default 502) for `unavailableMs`, then healthy again.
   */
  kind: 'reboot';
  counterDipWh?: number;
  refusedMs?: number;
  unavailableMs?: number;
  unavailableStatus?: number;
}

export type ActionFault = RefusedFault | TokenRevokedFault | ProximityFault | RebootFault;

/** A fault kind contributed by a plugin: any JSON object with its `kind`. */
export interface PluginFault {
  kind: string;
  [arg: string]: unknown;
}

export type FaultSpec = RequestFault | ActionFault;

export const REQUEST_FAULT_KINDS = ['status', 'hang', 'delay', 'malformed', 'truncated', 'reset'] as const;
export const ACTION_FAULT_KINDS = ['refused', 'token-revoked', 'proximity', 'reboot'] as const;

export interface ActiveFault {
  id: string;
  spec: RequestFault;
  /** Requests it has applied to so far. */
  hits: number;
  /** Epoch ms when it expires by time, or null. */
  expiresAtMs: number | null;
}
