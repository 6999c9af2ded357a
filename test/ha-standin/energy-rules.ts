/**
 * What Home Assistant requires of a sensor before its long-term statistics (and so the Energy dashboard)
 * use it, written down from its documentation (PROTOCOL.md, "Sensor classes"): a numeric state, a
 * state_class, and for the device classes below a unit from the listed set. Returns the problems found.
 */

export const ENERGY_UNITS = [
  'Wh',
  'kWh',
  'MWh',
  'GWh',
  'TWh',
  'mWh',
  'MJ',
  'GJ',
  'cal',
  'kcal',
  'Mcal',
  'Gcal',
];
export const POWER_UNITS = ['mW', 'W', 'kW', 'MW', 'GW', 'TW'];
export const STATE_CLASSES = ['measurement', 'measurement_angle', 'total', 'total_increasing'];

export function statisticsProblems(entityId: string, state: string, a: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const unit = a.unit_of_measurement;
  const deviceClass = a.device_class;
  const stateClass = a.state_class;
  if (!entityId.startsWith('sensor.')) return problems;
  if (state !== 'unavailable' && state !== 'unknown' && !Number.isFinite(Number(state))) {
    problems.push(`${entityId}: state ${JSON.stringify(state)} is not a number`);
  }
  if (typeof stateClass !== 'string' || !STATE_CLASSES.includes(stateClass)) {
    problems.push(`${entityId}: state_class ${String(stateClass)} is not one of ${STATE_CLASSES.join(', ')}`);
  }
  if (deviceClass === 'energy') {
    if (!ENERGY_UNITS.includes(String(unit))) problems.push(`${entityId}: energy unit ${String(unit)}`);
    // The Energy dashboard lists energy sensors with a total or total_increasing state class only.
    if (stateClass !== 'total' && stateClass !== 'total_increasing') {
      problems.push(`${entityId}: energy with state_class ${String(stateClass)}`);
    }
  } else if (deviceClass === 'power') {
    if (!POWER_UNITS.includes(String(unit))) problems.push(`${entityId}: power unit ${String(unit)}`);
    if (stateClass !== 'measurement')
      problems.push(`${entityId}: power with state_class ${String(stateClass)}`);
  } else if (deviceClass === 'battery') {
    if (unit !== '%') problems.push(`${entityId}: battery unit ${String(unit)}`);
  } else {
    problems.push(`${entityId}: unexpected device_class ${String(deviceClass)}`);
  }
  return problems;
}
