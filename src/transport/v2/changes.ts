/**
 * "Something changed" for the parts of the v2 transport that wait on each other (a reader waiting for the
 * connection or the retained burst, a command waiting for its confirmation): no polling loop, no timer left
 * behind.
 */
export class Changes {
  private readonly waiters = new Set<() => void>();

  notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /**
   * Resolves on the next change, after `maxMs`, or when `signal` aborts — whichever is first. Every timer
   * and listener it sets is removed before it resolves.
   */
  wait(signal: AbortSignal, maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, maxMs));
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
