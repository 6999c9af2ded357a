/**
 * The captured MAIN 32 payloads the simulated panel starts from (copies of test/fixtures, compiled into dist
 * so the simulator runs without test/). Typed here once so the rest of the simulator never sees raw JSON.
 */
import circuitsJson from './v1_circuits.json';
import panelJson from './v1_panel.json';
import soeJson from './v1_soe.json';
import statusJson from './v1_status.json';

export interface SeedCircuit {
  id: string;
  name: string;
  relayState: string;
  instantPowerW: number;
  instantPowerUpdateTimeS: number;
  producedEnergyWh: number;
  consumedEnergyWh: number;
  energyAccumUpdateTimeS: number;
  tabs: number[];
  priority: string;
  isUserControllable: boolean;
  isSheddable: boolean;
  isNeverBackup: boolean;
}

export interface SeedBranch {
  id: number;
  relayState: string;
  instantPowerW: number;
  importedActiveEnergyWh: number;
  exportedActiveEnergyWh: number;
  measureStartTsMs: number;
  measureDurationMs: number;
  isMeasureValid: boolean;
}

export interface SeedPanel {
  mainRelayState: string;
  mainMeterEnergy: { producedEnergyWh: number; consumedEnergyWh: number };
  instantGridPowerW: number;
  feedthroughPowerW: number;
  feedthroughEnergy: { producedEnergyWh: number; consumedEnergyWh: number };
  gridSampleStartMs: number;
  gridSampleEndMs: number;
  dsmGridState: string;
  dsmState: string;
  currentRunConfig: string;
  branches: SeedBranch[];
}

export interface SeedStatus {
  software: { firmwareVersion: string; updateStatus: string; env: string };
  system: {
    manufacturer: string;
    serial: string;
    model: string;
    doorState: string;
    proximityProven: boolean;
    uptime: number;
  };
  network: { eth0Link: boolean; wlanLink: boolean; wwanLink: boolean };
}

export const seedStatus: SeedStatus = statusJson;
export const seedPanel: SeedPanel = panelJson;
/** In the fixture's (panel) order. */
export const seedCircuits: SeedCircuit[] = Object.values(
  (circuitsJson as { circuits: Record<string, SeedCircuit> }).circuits,
);
export const seedSoePercent: number = soeJson.soe.percentage;
