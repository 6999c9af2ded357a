/**
 * Calls `deliver` for every listener of a snapshot of `listeners` (one may unsubscribe while being called),
 * so a throwing listener neither stops the others nor reaches the caller: its error goes to `report`.
 */
export function fanOut<L>(
  listeners: Iterable<L>,
  deliver: (listener: L) => void,
  report: (error: Error, listener: L) => void,
): void {
  for (const listener of [...listeners]) {
    try {
      deliver(listener);
    } catch (e) {
      report(e instanceof Error ? e : new Error(String(e)), listener);
    }
  }
}
