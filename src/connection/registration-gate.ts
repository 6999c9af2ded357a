import { PanelError, asPanelError } from '../transport/errors';
import { settleBy } from '../util/settle-by';
import { Deadline } from '../util/deadline';

/**
 * Every successful registration creates a client entry on the panel, so a registration is never started
 * twice for one outcome:
 * - it runs under its own deadline, not the cycle's: a cycle that gives up waiting leaves it running, and a
 *   later cycle joins it instead of sending another POST (its result is stored the moment it arrives);
 * - when it ends without an answer (timeout, connection cut after sending) the panel may have registered
 *   us anyway, so no new registration is sent for `holdOffMs`.
 */
export interface RegistrationGateOptions {
  /** Deadline of one registration, independent of the cycle; default 15 s. */
  timeoutMs?: number;
  /** Pause after a registration whose outcome is unknown; default 60 s. */
  holdOffMs?: number;
  now?: () => number;
}

export class RegistrationGate {
  private pending: Promise<unknown> | null = null;
  private pendingAbort: AbortController | null = null;
  private unknownUntil = 0;
  /** The registration's own deadline (also its HTTP timeout). */
  readonly timeoutMs: number;
  private readonly holdOffMs: number;
  private readonly now: () => number;
  /** Registrations actually started (tests). */
  started = 0;

  constructor(opts: RegistrationGateOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.holdOffMs = opts.holdOffMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Runs `register` (or joins the one in flight) and calls `keep` with its result before anyone sees it.
   * The caller waits at most until `signal` aborts; the registration itself goes on until its own deadline.
   */
  run<T>(
    signal: AbortSignal,
    register: (signal: AbortSignal) => Promise<T>,
    keep: (r: T) => void,
  ): Promise<T> {
    if (!this.pending) {
      const wait = this.unknownUntil - this.now();
      if (wait > 0) {
        return Promise.reject(
          new PanelError(
            'timeout',
            `the last registration got no answer; the panel may have registered this Node-RED anyway, so a new ` +
              `registration waits ${Math.ceil(wait / 1000)} s`,
          ),
        );
      }
      this.pending = this.start(register, keep);
    }
    return settleBy(this.pending as Promise<T>, signal);
  }

  /** Abandons a registration in flight (the connection stops). */
  close(): void {
    this.pendingAbort?.abort(new PanelError('canceled', 'registration canceled: connection stopped'));
  }

  private start<T>(register: (signal: AbortSignal) => Promise<T>, keep: (r: T) => void): Promise<T> {
    this.started += 1;
    const abort = new Deadline(
      this.timeoutMs,
      () => new PanelError('timeout', `registration: no answer within ${this.timeoutMs} ms`),
    );
    this.pendingAbort = abort;
    const p = register(abort.signal).then(
      (r) => {
        keep(r);
        return r;
      },
      (e: unknown) => {
        const err = asPanelError(e);
        if (outcomeUnknown(err)) this.unknownUntil = this.now() + this.holdOffMs;
        throw err;
      },
    );
    const settled = p.finally(() => {
      abort.dispose();
      if (this.pending === settled) this.pending = null;
      if (this.pendingAbort === abort) this.pendingAbort = null;
    });
    settled.catch(() => undefined);
    return settled;
  }
}

/** The POST may have reached the panel but no answer came back: it may have registered us. */
function outcomeUnknown(err: PanelError): boolean {
  if (err.status !== undefined) return false;
  return !['refused', 'unreachable', 'canceled'].includes(err.errorClass);
}
