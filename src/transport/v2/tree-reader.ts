import type { EnergyGuard } from '../../model/energy-guard';
import type { PanelSnapshot } from '../../model/panel';
import { PanelError } from '../errors';
import type { BrokerSession } from './broker-session';
import type { Changes } from './changes';
import type { V2DataModelStrategy } from './data-model';
import { HOMIE_PREFIX, type HomieTree } from './homie-tree';

/** After a connect, a read waits for this much quiet in the retained replay, for at most … */
const BURST_QUIET_MS = 100;
/** … this long after the connection was established. */
const BURST_SETTLE_MAX_MS = 1500;

export interface TreeReaderOptions {
  session: BrokerSession;
  tree: HomieTree;
  changes: Changes;
  guard: EnergyGuard;
  /** The strategy for the panel's data model (known once `$description` arrived, or from detection). */
  model: () => V2DataModelStrategy;
  now: () => number;
  /** No message for this long while connected ⇒ 'stale-data'. */
  staleAfterMs: number;
  /** After the root's `$description`, how long to wait for listed children to describe themselves. */
  childSettleMs: number;
}

/**
 * Turns the Homie tree the broker session keeps up to date into one whole PanelSnapshot: it waits (within
 * the caller's signal) for the connection, the root's `$state`/`$description`, the children and the end of
 * the retained burst, and refuses a tree that is not ready or has gone quiet.
 */
export class TreeReader {
  constructor(private readonly o: TreeReaderOptions) {}

  async read(signal: AbortSignal): Promise<PanelSnapshot> {
    const { session, tree } = this.o;
    for (;;) {
      await session.awaitConnected(signal);
      const serial = session.serial as string;
      const root = tree.device(serial);
      const now = this.o.now();
      let pending: string | null = null;
      if (!root || root.state === null || root.description === null) {
        pending = `${session.where}: connected, but the panel has not published ${HOMIE_PREFIX}${serial}/$state and $description`;
      } else if (root.state !== 'ready') {
        throw new PanelError('server', `panel ${serial} reports Homie $state "${root.state}" (not ready)`, {
          code: `HOMIE_${root.state.toUpperCase()}`,
        });
      } else if (now - session.lastMessageAt > this.o.staleAfterMs) {
        throw new PanelError(
          'stale-data',
          `no update from panel ${serial} for ${Math.round((now - session.lastMessageAt) / 1000)} s while connected`,
        );
      } else if (!this.childrenSettled(serial, now)) {
        pending = `${session.where}: waiting for the panel's child devices to describe themselves`;
      } else if (
        now - session.connectedAt < BURST_SETTLE_MAX_MS &&
        now - session.lastMessageAt < BURST_QUIET_MS
      ) {
        // Right after (re)connecting the broker replays every retained value: let the burst finish so the
        // first snapshot is whole rather than half unknown.
        pending = `${session.where}: receiving the panel's retained values`;
      }
      if (pending === null) return this.assemble(serial);
      if (signal.aborted) throw session.abortError(signal, pending);
      await this.o.changes.wait(signal, 50);
    }
  }

  /** Every listed child has its `$description`, or the settle time after the root's description has passed. */
  private childrenSettled(serial: string, now: number): boolean {
    if (this.o.model().allDescribed(this.o.tree, serial)) return true;
    const describedAt = this.o.session.rootDescribedAt;
    return describedAt !== null && now - describedAt >= this.o.childSettleMs;
  }

  private assemble(serial: string): PanelSnapshot {
    const snap = this.o.model().snapshot(this.o.tree, serial, this.o.guard, this.o.now());
    const firmware = this.o.session.restStatus?.firmwareVersion;
    if (snap.panel.firmwareVersion === null && firmware) snap.panel.firmwareVersion = firmware;
    return snap;
  }
}
