/** What the watchdog looks at in the supervisor's loop. */
export interface LoopView {
  stopped: boolean;
  /** A cycle is in flight, started at `cycleStartedAt`. */
  inFlight: boolean;
  cycleStartedAt: number;
  /** A timer for the next cycle is set, due at `nextAttemptAt`. */
  scheduled: boolean;
  nextAttemptAt: number | null;
}

/**
 * Protects against the class of bug behind SPAN #242 (an integration left "unavailable" for days): a lost
 * timer or a promise that never settles would otherwise stop the loop until someone redeploys. Every
 * period it checks the loop and calls `rescue` when a cycle is hung past its deadline, or no cycle is in
 * flight nor scheduled, or the scheduled one is well overdue.
 */
export class Watchdog {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly cycleDeadlineMs: number,
    private readonly view: () => LoopView,
    private readonly rescue: (hung: boolean) => void,
  ) {}

  start(periodMs: number): void {
    this.stop();
    this.timer = setInterval(() => this.check(), periodMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private check(): void {
    const loop = this.view();
    if (loop.stopped) return;
    const now = Date.now();
    const hung = loop.inFlight && now - loop.cycleStartedAt > this.cycleDeadlineMs + 2000;
    const lost = !loop.inFlight && !loop.scheduled;
    const late = loop.scheduled && loop.nextAttemptAt !== null && now > loop.nextAttemptAt + 5000;
    if (hung || lost || late) this.rescue(hung);
  }
}
