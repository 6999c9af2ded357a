/**
 * Token bucket that keeps in-request retries a small fraction of traffic (Google SRE "retry budget";
 * docs/resilience.md §3, `gateway`): each successful request earns `earnPerSuccess` tokens, each retry
 * spends one, and the bucket holds at most `capacity`. When it is empty a retry is still allowed once per
 * `floorMs`, so a panel that is mostly failing still gets the occasional second chance.
 */
export interface RetryBudgetOptions {
  capacity?: number;
  earnPerSuccess?: number;
  floorMs?: number;
  now?: () => number;
}

export class RetryBudget {
  private tokens: number;
  private lastRetryAt = Number.NEGATIVE_INFINITY;
  private readonly capacity: number;
  private readonly earnPerSuccess: number;
  private readonly floorMs: number;
  private readonly now: () => number;

  constructor(opts: RetryBudgetOptions = {}) {
    this.capacity = opts.capacity ?? 5;
    this.earnPerSuccess = opts.earnPerSuccess ?? 0.1;
    this.floorMs = opts.floorMs ?? 10_000;
    this.now = opts.now ?? Date.now;
    this.tokens = this.capacity;
  }

  get available(): number {
    return this.tokens;
  }

  recordSuccess(): void {
    this.tokens = Math.min(this.capacity, this.tokens + this.earnPerSuccess);
  }

  /** Spends one token if a retry is allowed now; returns false (and spends nothing) otherwise. */
  tryAcquire(): boolean {
    const now = this.now();
    // A tiny epsilon: ten successes of 0.1 must add up to a whole token despite float rounding.
    if (this.tokens >= 1 - 1e-9) {
      this.tokens = Math.max(0, this.tokens - 1);
    } else if (now - this.lastRetryAt < this.floorMs) {
      return false;
    }
    this.lastRetryAt = now;
    return true;
  }
}
