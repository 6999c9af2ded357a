import type { ApiKind, DataModel, PanelSnapshot, SettablePriority, SettableRelay } from '../model/panel';

/**
 * What the health supervisor needs from a panel connection. Implemented by the v1 REST client and by the
 * v2 MQTT transport; the supervisor, and the nodes above it, never know which one they talk to.
 *
 * Contract:
 * - every method settles before `signal` aborts (no promise may hang);
 * - failures are thrown as `PanelError` with a class (see errors.ts);
 * - one owner of retry timing: the supervisor decides when a panel is tried again. A transport does only
 *   what one attempt needs (v1: at most one in-request retry of a GET, see http/in-request-retry.ts; v2:
 *   one connection attempt per read or probe while disconnected) and never reconnects or retries on a
 *   schedule of its own. A push transport reports what happened to its connection (connected, lost,
 *   refused, TLS failure) through `onConnectionChange`; the supervisor's next cycle reconnects.
 */
export interface PanelTransport {
  readonly api: ApiKind;
  /** Known once the transport has talked to the panel; null before. */
  readonly dataModel: DataModel | null;

  /** One full, validated read of the panel (v2: the current assembled state of the MQTT tree). */
  readSnapshot(signal: AbortSignal): Promise<PanelSnapshot>;

  /** A cheap liveness check used while offline or auth-failed (v1: GET /api/v1/status without token). */
  probe(signal: AbortSignal): Promise<void>;

  /**
   * One cheap authenticated request (v1: GET /api/v1/panel), used while auth-failed so that a credential
   * revoked for good costs one request per probe. Transports that authenticate when they connect omit it.
   */
  checkAuth?(signal: AbortSignal): Promise<void>;

  /**
   * Drop pooled sockets / rebuild the client from scratch; called by the supervisor after an outage (v2:
   * drops the connection and starts a fresh attempt now, CA fetched again).
   */
  reset(): void;

  /** Sends a relay command once. Resolves with the confirmed or unconfirmed outcome; throws when refused. */
  setRelay(circuitId: string, state: SettableRelay, signal: AbortSignal): Promise<CommandOutcome>;

  setPriority(circuitId: string, priority: SettablePriority, signal: AbortSignal): Promise<CommandOutcome>;

  /**
   * Sets the user charge-current ceiling (A) of the EV charger fed by `circuitId` (v2 only; absent on v1).
   * Refused, with nothing sent, when the value is not an integer within 6 A … the charger's maximum, when
   * the circuit feeds no charger, or when the firmware does not make the ceiling settable.
   */
  setChargeCurrent?(circuitId: string, amps: number, signal: AbortSignal): Promise<CommandOutcome>;

  /**
   * Push transports (v2) call this whenever new data arrived, so the supervisor can emit at once when the
   * snapshot interval is 0. Poll transports never call it.
   */
  onData?(listener: () => void): void;

  /**
   * Push transports report each change of their connection here, once: `true` when connected, `false` with
   * the error when a connection is lost or an attempt fails (refused, TLS failure…). Nothing reconnects
   * until the supervisor's next cycle asks (readSnapshot, probe) or reset() is called.
   */
  onConnectionChange?(listener: (connected: boolean, error?: Error) => void): void;

  /** Releases every socket, timer and client. Idempotent. */
  close(): Promise<void>;
}

export interface CommandOutcome {
  /** confirmed: the panel reported the new value; unconfirmed: sent, but no confirmation before the timeout. */
  result: 'confirmed' | 'unconfirmed';
  circuitId: string;
  requested: string;
  /** The value the panel reports after the command (null if unknown). */
  observed: string | null;
  /** Human-readable note, e.g. "v1 does not persist priority changes". */
  note?: string;
}
