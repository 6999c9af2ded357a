/**
 * Which firmware speaks which v2 data model (docs/panel-api.md §3.3, §3.4): r202603 … r202627 publish the flat
 * Homie tree; r202633 and later publish the parent/child tree (data model 1.0). r202639 adds
 * `hardwareVersion` to GET /api/v2/status.
 */
export type SimDataModel = 'flat' | 'parent-child';

export const FLAT_FIRMWARE = 'spanos2/r202603/05';
/** A firmware before the SPAN API (v1 REST only); what a `v2Disabled` simulated panel reports. */
export const V1_ONLY_FIRMWARE = 'spanos2/r202550/01';
export const PARENT_CHILD_FIRMWARE = 'spanos2/r202633/01';
export const FIRST_PARENT_CHILD_RELEASE = 202633;
export const FIRST_HARDWARE_VERSION_RELEASE = 202639;

/** The simulated panel's hardware revision (reported from r202639 on, and in the Homie info nodes). */
export const HARDWARE_VERSION = '1.0.0';

export function defaultFirmware(model: SimDataModel): string {
  return model === 'flat' ? FLAT_FIRMWARE : PARENT_CHILD_FIRMWARE;
}

/** The release number of a firmware string ('spanos2/r202603/05' → 202603), or null if it has none. */
export function releaseOf(firmwareVersion: string): number | null {
  const m = /\/r(\d{6})(?:\/|$)/.exec(firmwareVersion);
  return m ? Number(m[1]) : null;
}

/** Whether a firmware string belongs to the given data model (unknown strings fit either). */
export function firmwareFits(firmwareVersion: string, model: SimDataModel): boolean {
  const release = releaseOf(firmwareVersion);
  if (release === null) return true;
  return model === 'flat' ? release < FIRST_PARENT_CHILD_RELEASE : release >= FIRST_PARENT_CHILD_RELEASE;
}

export function reportsHardwareVersion(firmwareVersion: string): boolean {
  const release = releaseOf(firmwareVersion);
  return release !== null && release >= FIRST_HARDWARE_VERSION_RELEASE;
}
