/**
 * What a span-circuit node watching one circuit shows: its own circuit (`on · 1.2 kW`, `off`, `refused`)
 * in the colour of its panel's health. While the panel is not online the panel's own status (connecting,
 * offline · retry 8s, auth failed, …) is shown instead: that is what the user needs to know then.
 * Pure and Node-RED-free; `t` translates `span-circuit.status.<key>`.
 */
import type { NodeStatus } from 'node-red';
import type { Circuit } from '../../src/model/panel';
import type { HealthEvent } from '../../src/supervisor/types';
import { formatPower } from './health-status';

export function circuitStatus(
  panelStatus: NodeStatus,
  health: HealthEvent | null,
  circuit: Circuit | null,
  refused: boolean,
  t: (key: string, params?: Record<string, string>) => string,
): NodeStatus {
  if (!circuit || health?.state !== 'online') return panelStatus;
  const colour = { fill: panelStatus.fill, shape: panelStatus.shape };
  if (refused) return { ...colour, text: t('refused') };
  if (circuit.relay === 'OPEN') return { ...colour, text: t('off') };
  if (circuit.relay !== 'CLOSED') return panelStatus;
  const power = formatPower(circuit.powerW);
  return { ...colour, text: power === null ? t('on') : t('onPower', { power }) };
}
