/**
 * Applies `…/set` commands received on the broker to the shared panel state, the way the panel does:
 * a command does not itself change the published value; the panel republishes the property (retained) once
 * the state changed, which is how clients confirm. Ignored commands (locked circuit, unknown circuit, bad
 * value, a value already in force) therefore produce no publish at all.
 *
 *   flat          ebus/5/<serial>/<circuit>/relay/set           OPEN | CLOSED
 *                 ebus/5/<serial>/<circuit>/shed-priority/set   OFF_GRID | SOC_THRESHOLD | NEVER
 *                 ebus/5/<serial>/core/dominant-power-source/set GRID | BATTERY | PV | GENERATOR | NONE | UNKNOWN
 *   parent/child  ebus/5/<circuit>/switch/relay/set             OPEN | CLOSED
 *                 ebus/5/<circuit>/load-shed/priority/set       OFF_GRID | SOC_THRESHOLD | NEVER
 *                 ebus/5/<serial>/shed/asserted-islanding-state/set  (always ignored: only accepted during a
 *                 MID/BESS communication loss, which the simulator never has)
 *                 ebus/5/<evse>/config/user-max-charge-current/set  integer A, clamped to 6…max (der.ts)
 */
import type { SimPanelState } from '../state-types';
import { chargeCurrentFromPayload, evseId } from './der';
import type { SimDataModel } from './firmware';
import { SIM_HOMIE_PREFIX, type PublisherExtras, v2PriorityToV1 } from './sim-homie-common';

export type SimCommandOutcome = 'applied' | 'unchanged' | 'ignored';

export interface CommandRecord {
  topic: string;
  payload: string;
  clientId: string | null;
  outcome: SimCommandOutcome;
  /** Why it was ignored (no secrets here: topics and enum values only). */
  reason?: string;
  atMs: number;
}

const DOMINANT_POWER_SOURCES = ['GRID', 'BATTERY', 'PV', 'GENERATOR', 'NONE', 'UNKNOWN'];

export class CommandHandler {
  readonly log: CommandRecord[] = [];

  constructor(
    private readonly state: SimPanelState,
    private readonly model: SimDataModel,
    private readonly extras: PublisherExtras,
    /** Called after a command changed something the state does not emit for (publisher extras). */
    private readonly onExtrasChanged: () => void,
  ) {}

  handle(topic: string, payload: string, clientId: string | null): CommandRecord {
    const result = this.apply(topic, payload.trim());
    const record: CommandRecord = { topic, payload, clientId, ...result, atMs: Date.now() };
    this.log.push(record);
    return record;
  }

  private apply(topic: string, value: string): { outcome: SimCommandOutcome; reason?: string } {
    const parts = topic.split('/');
    const prefix = SIM_HOMIE_PREFIX.split('/');
    if (parts.slice(0, prefix.length).join('/') !== SIM_HOMIE_PREFIX || parts[parts.length - 1] !== 'set')
      return ignored('not a command topic');
    const [device, node, property] = parts.slice(prefix.length, -1);
    if (parts.length !== prefix.length + 4 || !device || !node || !property)
      return ignored('unexpected topic shape');
    const serial = this.state.identity.serial;

    if (this.model === 'flat') {
      if (device !== serial) return ignored('unknown device');
      if (node === 'core' && property === 'dominant-power-source') return this.setDominantPowerSource(value);
      if (property === 'relay') return this.setRelay(node, value);
      if (property === 'shed-priority') return this.setPriority(node, value);
      return ignored('not settable');
    }
    if (device === serial && node === 'shed' && property === 'asserted-islanding-state')
      return ignored('accepted only during MID/BESS communication loss');
    if (device === evseId(serial) && node === 'config' && property === 'user-max-charge-current')
      return this.setChargeCurrent(value);
    if (node === 'switch' && property === 'relay') return this.setRelay(device, value);
    if (node === 'load-shed' && property === 'priority') return this.setPriority(device, value);
    return ignored('not settable');
  }

  private setRelay(circuitId: string, value: string) {
    const c = this.state.circuit(circuitId);
    if (!c) return ignored('unknown circuit');
    if (!c.isUserControllable) return ignored('circuit is not controllable');
    if (value !== 'OPEN' && value !== 'CLOSED') return ignored('invalid relay value');
    if (c.relayState === value) return { outcome: 'unchanged' as const };
    this.state.setRelay(circuitId, value);
    return { outcome: 'applied' as const };
  }

  private setPriority(circuitId: string, value: string) {
    const c = this.state.circuit(circuitId);
    if (!c) return ignored('unknown circuit');
    if (c.isNeverBackup) return ignored('priority is locked (never-backup)');
    if (!c.isUserControllable) return ignored('circuit is not controllable');
    const v1 = v2PriorityToV1(value);
    if (!v1) return ignored('invalid priority value');
    if (c.priority === v1) return { outcome: 'unchanged' as const };
    this.state.setPriority(circuitId, v1);
    return { outcome: 'applied' as const };
  }

  private setChargeCurrent(value: string) {
    const amps = chargeCurrentFromPayload(value);
    if (amps === null) return ignored('not an integer number of amps');
    if (this.extras.evseUserMaxChargeCurrentA === amps) return { outcome: 'unchanged' as const };
    this.extras.evseUserMaxChargeCurrentA = amps;
    this.onExtrasChanged();
    return { outcome: 'applied' as const };
  }

  private setDominantPowerSource(value: string) {
    if (!DOMINANT_POWER_SOURCES.includes(value)) return ignored('invalid dominant-power-source');
    if (this.extras.dominantPowerSource === value) return { outcome: 'unchanged' as const };
    this.extras.dominantPowerSource = value;
    this.onExtrasChanged();
    return { outcome: 'applied' as const };
  }
}

function ignored(reason: string): { outcome: SimCommandOutcome; reason: string } {
  return { outcome: 'ignored', reason };
}
