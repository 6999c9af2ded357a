/**
 * The PV system and the EV charger (SPAN Drive) the simulated panel reports on its v2 faces, next to the
 * battery (BESS in sim-homie-common.ts). Fixed identities like real commissioned devices; the charger's live
 * values follow its feeding circuit ("Large Garage EV", spaces 18/20) and the user's charge-current ceiling.
 *
 * - PV: the unmapped backfeed spaces 30/32 (no circuit, so no `feed`); flat relative-position IN_PANEL;
 *   parent/child has no connection record for it, so its position is unknown there (as on a real panel
 *   whose PV breaker carries no circuit).
 * - EVSE: fed by the EV circuit (flat `feed` = its id; parent/child: the circuit's connection/feeds-*).
 *   status UNAVAILABLE while the circuit relay is OPEN, CHARGING while it draws ≥ 100 W, else AVAILABLE;
 *   advertised-current = the user ceiling while the relay is closed, else 0; lock-state UNLOCKED.
 *   `user-max-charge-current` is settable (parent/child `config`): integer A, clamped to 6…max, a
 *   non-integer payload discarded (SPAN ebus-schema-migration-guide.md, "Settable Properties Summary").
 */
import type { SimPanelState } from '../state-types';

export const PV = {
  vendorName: 'Enphase',
  productName: 'IQ7PLUS-72-2-US',
  serialNumber: '122147019283',
  firmwareVersion: '520-00082-r01-v04.27.04',
  nameplateCapacityW: 7600,
};

export const EVSE = {
  vendorName: 'SPAN',
  productName: 'SPAN Drive',
  partNumber: '1-00800-01',
  serialNumber: 'SPD-2219-0042',
  firmwareVersion: 'spandrive/r202602/02',
  circuitId: '8a2ffda9dbd24bada9a01b880e910612',
  maxChargeCurrentA: 40,
  minChargeCurrentA: 6,
  defaultUserMaxA: 32,
};

export function pvId(serial: string): string {
  return `${serial}-${PV.productName.toLowerCase()}`;
}
export function evseId(serial: string): string {
  return `${serial}-${EVSE.serialNumber.toLowerCase()}`;
}

export interface EvseView {
  status: string;
  lockState: string;
  advertisedCurrentA: number;
}

export function evseView(state: SimPanelState, userMaxA: number): EvseView {
  const c = state.circuit(EVSE.circuitId);
  const closed = c?.relayState === 'CLOSED';
  const drawing = closed && Math.abs(c?.instantPowerW ?? 0) >= 100;
  return {
    status: !closed ? 'UNAVAILABLE' : drawing ? 'CHARGING' : 'AVAILABLE',
    lockState: 'UNLOCKED',
    advertisedCurrentA: closed ? userMaxA : 0,
  };
}

/** A `user-max-charge-current/set` payload as the panel treats it: integer amps clamped; anything else null. */
export function chargeCurrentFromPayload(value: string): number | null {
  if (!/^-?\d+$/.test(value)) return null;
  return Math.min(EVSE.maxChargeCurrentA, Math.max(EVSE.minChargeCurrentA, Number(value)));
}
