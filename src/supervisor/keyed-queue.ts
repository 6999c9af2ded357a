/**
 * Runs tasks one at a time per key, in arrival order: a relay or priority command to a circuit waits for the
 * earlier command to the same circuit to be confirmed or to fail (commands to other circuits do not wait).
 * A failed task does not block the ones behind it.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    // Forget the key once nothing is queued behind this task, so the map does not grow with circuit ids.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with a task running or waiting (tests). */
  get busyKeys(): number {
    return this.tails.size;
  }
}
