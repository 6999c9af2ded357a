/**
 * Every failure talking to a panel is classified once, here, so the supervisor can decide what to do
 * without looking at transport details. The classes follow docs/resilience.md §3.
 */
import type { ApiKind } from '../model/panel';

export type ErrorClass =
  /** ECONNRESET/EPIPE/"socket hang up" on a reused keep-alive socket the panel had already closed. */
  | 'stale-socket'
  /** ECONNREFUSED: nothing listens (panel rebooting). */
  | 'refused'
  /** EHOSTUNREACH, ENETUNREACH, ENOTFOUND, EAI_AGAIN, connect timeout. */
  | 'unreachable'
  /** Our own deadline fired (request timeout or cycle deadline). Never retried inside a cycle. */
  | 'timeout'
  /** 502/503/504 (nginx in front of a rebooting panel). */
  | 'gateway'
  /** 500 and other 5xx. */
  | 'server'
  /** 429 or 503 with Retry-After. */
  | 'rate-limited'
  /** 401/403/412 (v1) or a refused MQTT login: needs a new token / passphrase. Nothing else is ever `auth`. */
  | 'auth'
  /**
   * The panel speaks an API for which this Node-RED has no credential at all (v2 without passphrase or
   * stored registration, v1 without token): nothing was rejected, the user has to register once.
   */
  | 'needs-registration'
  /** Other 4xx (404 = API not available on this firmware). */
  | 'client'
  /** Malformed/truncated body, JSON that is not the expected object, HTTP parser errors. */
  | 'protocol'
  /** TLS handshake / certificate verification failure (v2 broker). */
  | 'tls'
  /** MQTT broker reachable at TCP level but not usable (connection closed, no CONNACK). */
  | 'broker'
  /** Data is too old (v2: no update for too long while connected). */
  | 'stale-data'
  /** The request was aborted by us on shutdown. */
  | 'canceled'
  /** A command was refused before it was sent (unknown or locked circuit, not connected). */
  | 'refused-command'
  | 'unknown';

/** The API a panel was found to speak (set when a failure happens after detection). */
export interface DetectedApi {
  api: ApiKind;
  dataModel: 'v1-rest' | 'v2-flat' | 'v2-parent-child' | null;
}

export interface PanelErrorInit {
  status?: number;
  code?: string;
  retryAfterMs?: number;
  cause?: unknown;
  detected?: DetectedApi;
}

export class PanelError extends Error {
  readonly errorClass: ErrorClass;
  readonly status: number | undefined;
  readonly code: string | undefined;
  /** Server-requested delay (already parsed from Retry-After), before any clamping. */
  readonly retryAfterMs: number | undefined;
  /** What detection found before this failure (health then shows the API even without a transport). */
  readonly detected: DetectedApi | undefined;

  constructor(errorClass: ErrorClass, message: string, init: PanelErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'PanelError';
    this.errorClass = errorClass;
    this.status = init.status;
    this.code = init.code;
    this.retryAfterMs = init.retryAfterMs;
    this.detected = init.detected;
  }

  /** A compact, secret-free description for logs and status messages. */
  toJSON(): { class: ErrorClass; message: string; status: number | null; code: string | null } {
    return {
      class: this.errorClass,
      message: this.message,
      status: this.status ?? null,
      code: this.code ?? null,
    };
  }
}

export function isPanelError(e: unknown): e is PanelError {
  return e instanceof PanelError;
}

/** Wraps anything thrown into a PanelError without losing an existing classification. */
export function asPanelError(e: unknown): PanelError {
  if (e instanceof PanelError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new PanelError('unknown', msg, { cause: e });
}

/** A relay command must name OPEN or CLOSED; anything else is refused before a byte is sent. */
export function refuseUnsettableRelay(state: unknown): void {
  if (state !== 'OPEN' && state !== 'CLOSED') {
    throw new PanelError('refused-command', `invalid relay state ${String(state)}: command not sent`);
  }
}

/** Socket error codes that mean "no route to the panel" (DNS, routing, interface down), HTTP and MQTT alike. */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
]);
