/**
 * The door-proximity window: after the door switch is pressed three times the panel accepts new client
 * registrations for about 15 minutes (docs/panel-api.md §4). Shown as `system.proximityProven` in /status.
 */
import type { PanelState } from '../state';

export const DEFAULT_PROXIMITY_WINDOW_MS = 15 * 60_000;

export class ProximityWindow {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly state: PanelState,
    private readonly defaultWindowMs: number = DEFAULT_PROXIMITY_WINDOW_MS,
  ) {}

  get isOpen(): boolean {
    return this.state.identity.proximityProven;
  }

  /** Opens the window for `windowMs` (it closes by itself afterwards). */
  open(windowMs: number = this.defaultWindowMs): void {
    this.clearTimer();
    this.state.setProximity(true);
    this.timer = setTimeout(() => this.close(), windowMs);
    this.timer.unref();
  }

  close(): void {
    this.clearTimer();
    this.state.setProximity(false);
  }

  /** Releases the timer without changing the state (simulator shutdown). */
  dispose(): void {
    this.clearTimer();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
