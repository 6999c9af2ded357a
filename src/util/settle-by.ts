/**
 * Settles with `work`, or rejects with the abort reason as soon as `signal` aborts, even if `work` never
 * settles. The guarantee behind "no promise can hang": every cycle, call and command is bounded this way.
 */
export function settleBy<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  // The abandoned promise may still reject later: never let that become an unhandled rejection.
  work.catch(() => undefined);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
