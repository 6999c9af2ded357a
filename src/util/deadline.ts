import { settleBy } from './settle-by';

/**
 * An AbortController that aborts itself with `reason()` after `ms`, the one shape of every bounded call
 * (a cycle, a command, a registration, an editor request). `dispose()` clears the timer; call it in
 * `finally`.
 */
export class Deadline extends AbortController {
  private timer: NodeJS.Timeout | null;
  private readonly cleanups: Array<() => void> = [];

  constructor(ms: number, reason: () => unknown) {
    super();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.abort(reason());
    }, ms);
  }

  /** Also runs `cleanup` on dispose (e.g. removes another abort trigger's listener). */
  whenDisposed(cleanup: () => void): this {
    this.cleanups.push(cleanup);
    return this;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }
}

/**
 * Runs `work` with a signal that aborts after `ms`, and settles by then even if `work` never does (the
 * abandoned promise's late rejection is swallowed by settleBy). The timer is always cleared.
 */
export async function withDeadline<T>(
  ms: number,
  reason: () => unknown,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const deadline = new Deadline(ms, reason);
  try {
    return await settleBy(work(deadline.signal), deadline.signal);
  } finally {
    deadline.dispose();
  }
}
