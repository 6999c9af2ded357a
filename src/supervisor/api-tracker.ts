import type { ApiKind, DataModel } from '../model/panel';
import type { PanelTransport } from '../transport/transport';
import type { Logger } from '../util/logger';
import { settleBy } from '../util/settle-by';
import type { Decision } from './health';
import type { ApiWatch } from './types';

const LEGACY_SUNSET = '2026-12-31';

/**
 * What the supervisor knows about the panel's API: the one in use, the last one known while no transport
 * is connected (re-detection, auth probes), and, on `auto`, the API watch's verdicts. A change of API (a
 * firmware upgrade, the v1 sunset) is logged once, never per cycle; so is the v1 sunset warning.
 */
export class ApiTracker {
  private last: { api: ApiKind; dataModel: DataModel | null } | null = null;
  private legacyWarned = false;

  constructor(
    private readonly logger: Logger,
    private readonly label: string,
    private readonly watch?: ApiWatch,
  ) {}

  /** API and data model to show: the transport's, else the last known. */
  shown(t: PanelTransport | null): { api: ApiKind | null; dataModel: DataModel | null } {
    return {
      api: t?.api ?? this.last?.api ?? null,
      dataModel: t?.dataModel ?? this.last?.dataModel ?? null,
    };
  }

  /** The panel was upgraded under us: rebuild on the next cycle (detection picks the new API). */
  static switching(from: ApiKind): Decision {
    return {
      state: 'connecting',
      reason: `the panel now offers the SPAN API (v2): switching from ${from}`,
      delayMs: 0,
    };
  }

  /** A new transport is in use. */
  adopted(t: PanelTransport): void {
    this.note(t.api, t.dataModel);
    if (t.api === 'v1' && !this.legacyWarned) {
      this.legacyWarned = true;
      this.logger.warn(
        `${this.label}: this panel is on the legacy v1 REST API, which SPAN switches off on ${LEGACY_SUNSET}. ` +
          'Update the panel firmware (spanos2/r202603 or later) and set the API to "auto" or "v2".',
      );
    }
  }

  /** A transport is dropped: keep what it knew for the health events until the next one. */
  dropped(t: PanelTransport): void {
    this.last = { api: t.api, dataModel: t.dataModel ?? this.last?.dataModel ?? null };
  }

  /** Remembers the panel's API (also from a failed detection, which still tells which API answered). */
  note(api: ApiKind, dataModel: DataModel | null): void {
    if (this.last && this.last.api !== api) {
      this.logger.info(`${this.label}: the panel's API changed from ${this.last.api} to ${api}`);
    }
    this.last = { api, dataModel: dataModel ?? (this.last?.api === api ? this.last.dataModel : null) };
  }

  /** `auto` on v1: after a few failed cycles of any class, detect the API again (the v1 sunset, an upgrade). */
  redetectAfterFailure(t: PanelTransport | null, failures: number): boolean {
    if (!t || !this.watch?.redetectAfterFailure(t, failures)) return false;
    this.logger.debug(`${this.label}: ${failures} failed cycles on ${t.api}: detecting the API again`);
    return true;
  }

  /** Asks the API watch (auto only) whether the panel now offers a better API; bounded by the cycle. */
  betterApiAvailable(t: PanelTransport | null, recovered: boolean, signal: AbortSignal): Promise<boolean> {
    if (!this.watch || !t) return Promise.resolve(false);
    return settleBy(this.watch.betterApiAvailable(t, recovered, signal), signal).catch(() => false);
  }
}
