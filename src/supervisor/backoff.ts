/**
 * Capped exponential backoff with ±jitter, gRPC's shape (1 s × 1.6 ± 20 %), so that many panels or many
 * Node-RED instances that lost the same network do not retry in lockstep.
 */
export interface BackoffOptions {
  initialMs: number;
  factor: number;
  capMs: number;
  /** Relative jitter: 0.2 = ±20 %. */
  jitter: number;
  random?: () => number;
}

export class Backoff {
  private current = 0;
  private readonly random: () => number;

  constructor(private readonly opts: BackoffOptions) {
    this.random = opts.random ?? Math.random;
  }

  /** The next delay; grows until the cap. The jittered delay never exceeds cap × (1 + jitter). */
  next(): number {
    this.current =
      this.current === 0 ? this.opts.initialMs : Math.min(this.current * this.opts.factor, this.opts.capMs);
    const spread = 1 + this.opts.jitter * (2 * this.random() - 1);
    return Math.round(this.current * spread);
  }

  reset(): void {
    this.current = 0;
  }

  get capMs(): number {
    return this.opts.capMs;
  }
}
