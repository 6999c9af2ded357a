/**
 * The v1 REST wire payloads, built from the shared panel state with exactly the field names, order and
 * value types of the captured MAIN 32 responses (test/fixtures/v1_*.json). Integer fields stay integers.
 */
import type { PanelState } from '../state';
import type { SimBranch, SimCircuit } from '../state-types';

export const V1_MISSING_TOKEN_BODY =
  '{"detail": "Access to protected HTTP endpoints require an API token passed as a HTTP Bearer header."}';
export const V1_INVALID_TOKEN_DETAIL = 'Invalid authentication credentials';

export function statusPayload(state: PanelState) {
  const id = state.identity;
  return {
    software: { firmwareVersion: id.firmwareVersion, updateStatus: 'idle', env: 'prod' },
    system: {
      manufacturer: 'Span',
      serial: id.serial,
      model: id.model,
      doorState: id.doorState,
      proximityProven: id.proximityProven,
      uptime: Math.floor(id.uptimeS),
    },
    network: { eth0Link: id.eth0Link, wlanLink: id.wlanLink, wwanLink: id.wwanLink },
  };
}

export function branchPayload(b: SimBranch) {
  return {
    id: b.id,
    relayState: b.relayState,
    instantPowerW: b.instantPowerW,
    importedActiveEnergyWh: b.importedActiveEnergyWh,
    exportedActiveEnergyWh: b.exportedActiveEnergyWh,
    measureStartTsMs: Math.round(b.measureStartTsMs),
    measureDurationMs: Math.round(b.measureDurationMs),
    isMeasureValid: b.isMeasureValid,
  };
}

export function panelPayload(state: PanelState) {
  const m = state.mains;
  return {
    mainRelayState: m.mainRelayState,
    mainMeterEnergy: { ...m.mainMeterEnergy },
    instantGridPowerW: m.instantGridPowerW,
    feedthroughPowerW: m.feedthroughPowerW,
    feedthroughEnergy: { ...m.feedthroughEnergy },
    gridSampleStartMs: Math.round(m.gridSampleStartMs),
    gridSampleEndMs: Math.round(m.gridSampleEndMs),
    dsmGridState: m.dsmGridState,
    dsmState: m.dsmState,
    currentRunConfig: m.currentRunConfig,
    branches: state.branches.map(branchPayload),
  };
}

export function panelPowerPayload(state: PanelState) {
  return {
    instantGridPowerW: state.mains.instantGridPowerW,
    feedthroughPowerW: state.mains.feedthroughPowerW,
  };
}

export function panelMeterPayload(state: PanelState) {
  return { mainMeter: { ...state.mains.mainMeterEnergy }, feedthrough: { ...state.mains.feedthroughEnergy } };
}

export function circuitPayload(c: SimCircuit) {
  return {
    id: c.id,
    name: c.name,
    relayState: c.relayState,
    instantPowerW: c.instantPowerW,
    instantPowerUpdateTimeS: Math.floor(c.instantPowerUpdateTimeS),
    producedEnergyWh: c.producedEnergyWh,
    consumedEnergyWh: c.consumedEnergyWh,
    energyAccumUpdateTimeS: Math.floor(c.energyAccumUpdateTimeS),
    tabs: [...c.tabs],
    priority: c.priority,
    isUserControllable: c.isUserControllable,
    isSheddable: c.isSheddable,
    isNeverBackup: c.isNeverBackup,
  };
}

export function circuitsPayload(state: PanelState) {
  // Null prototype: any id (even `__proto__`) is an ordinary key of the JSON object.
  const circuits: Record<string, ReturnType<typeof circuitPayload>> = Object.create(null);
  for (const c of state.circuits) circuits[c.id] = circuitPayload(c);
  return { circuits };
}

/** `{"soe":{"percentage":<int>}}`; a panel without battery reports 0. */
export function soePayload(state: PanelState) {
  return { soe: { percentage: Math.round(state.soePercent ?? 0) } };
}
