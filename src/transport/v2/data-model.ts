import type { EnergyGuard } from '../../model/energy-guard';
import type { DataModel, PanelSnapshot } from '../../model/panel';
import type { ParsedPanel } from './homie-common';
import { flatChargeCurrentTarget } from './homie-der';
import { buildFlatSnapshot, flatCommandTopics, parseFlat } from './homie-flat';
import {
  buildParentChildSnapshot,
  effectiveState,
  parentChildChargeCurrentTarget,
  parentChildCommandTopics,
  parseParentChild,
  treeDeviceIds,
} from './homie-parent-child';
import type { HomieDeviceDescription, HomieTree } from './homie-tree';

export type V2DataModel = Extract<DataModel, 'v2-flat' | 'v2-parent-child'>;

/** Where a command is published and where the panel reports the value it set. */
export interface CommandTarget {
  set: string;
  device: string;
  key: string;
}

/**
 * Everything that differs between the two Homie layouts the panel publishes: one device holding every
 * circuit as a node (flat), or a root device with one child device per circuit and DER (parent/child).
 * The transport picks one strategy from the panel's `$description` and never branches on the model itself.
 */
export interface V2DataModelStrategy {
  readonly name: V2DataModel;
  /** True when nothing listed is still to describe itself (flat: always). */
  allDescribed(tree: HomieTree, serial: string): boolean;
  parse(tree: HomieTree, serial: string): ParsedPanel;
  snapshot(tree: HomieTree, serial: string, guard: EnergyGuard, now: number): PanelSnapshot;
  commandTopics(
    tree: HomieTree,
    serial: string,
    circuitId: string,
  ): Record<'relay' | 'priority', CommandTarget>;
  chargeCurrentTarget(tree: HomieTree, serial: string): CommandTarget | null;
  /** The circuit reports Homie `$state` lost (its own or its parent's): commands to it are refused. */
  circuitLost(tree: HomieTree, circuitId: string): boolean;
}

export const FLAT_MODEL: V2DataModelStrategy = {
  name: 'v2-flat',
  allDescribed: () => true,
  parse: parseFlat,
  snapshot: buildFlatSnapshot,
  commandTopics: (_tree, serial, circuitId) => flatCommandTopics(serial, circuitId),
  chargeCurrentTarget: (tree, serial) => flatChargeCurrentTarget(tree.device(serial), serial) ?? null,
  circuitLost: () => false,
};

export const PARENT_CHILD_MODEL: V2DataModelStrategy = {
  name: 'v2-parent-child',
  allDescribed: (tree, serial) => treeDeviceIds(tree, serial).every((id) => tree.device(id)?.description),
  parse: parseParentChild,
  snapshot: buildParentChildSnapshot,
  commandTopics: (tree, _serial, circuitId) => parentChildCommandTopics(tree, circuitId),
  chargeCurrentTarget: (tree, serial) => parentChildChargeCurrentTarget(tree, serial) ?? null,
  circuitLost: (tree, circuitId) => effectiveState(tree, circuitId) === 'lost',
};

/** The panel's own `$description` decides; before it arrives, the model detection reported (or flat). */
export function dataModelFor(
  description: HomieDeviceDescription | null | undefined,
  hint: V2DataModel | null,
): V2DataModelStrategy | null {
  if (description) return isParentChildDescription(description) ? PARENT_CHILD_MODEL : FLAT_MODEL;
  if (hint === null) return null;
  return hint === 'v2-parent-child' ? PARENT_CHILD_MODEL : FLAT_MODEL;
}

function isParentChildDescription(d: HomieDeviceDescription): boolean {
  return (
    d.children.length > 0 || d.nodes.some(([, n]) => n.type?.startsWith('energy.ebus.capability.') === true)
  );
}
