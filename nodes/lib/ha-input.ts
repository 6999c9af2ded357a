/**
 * What span-ha's input means, from the messages node-red-contrib-home-assistant-websocket's
 * "events: all" node sends. Pure, so every shape is unit-tested without Home Assistant.
 *
 * - A `call_service` event (event type `call_service`): Home Assistant fires it for every service call,
 *   also for a switch entity that only exists as a state written over the REST API. `switch.turn_on`,
 *   `turn_off` and `toggle` aimed at one of our relay entities become relay commands.
 * - An event of the node's Home Assistant connection (event type `home_assistant_client`): `ready` means
 *   Home Assistant (re)connected, so every entity is written again (it forgets REST-written states on a
 *   restart); `disconnected`/`error` pause the writes until then.
 * - Anything else (an inject, say): write every entity again now.
 */
import type { SettableRelay } from '../../src/model/panel';

export type RelayService = 'turn_on' | 'turn_off' | 'toggle';

export type HaInput =
  | { kind: 'service'; service: RelayService; entityIds: string[] }
  | { kind: 'ignored-service' }
  | { kind: 'connection'; event: string }
  | { kind: 'resend' };

const RELAY_SERVICES: readonly string[] = ['turn_on', 'turn_off', 'toggle'];

export function parseHaInput(msg: Record<string, unknown>): HaInput {
  const payload = msg.payload as Record<string, unknown> | string | undefined;
  if (msg.event_type === 'home_assistant_client' && typeof payload === 'string') {
    return { kind: 'connection', event: payload };
  }
  if (!payload || typeof payload !== 'object') return { kind: 'resend' };
  const eventType = payload.event_type ?? msg.topic;
  if (eventType !== 'call_service') return { kind: 'resend' };
  const data = (payload.event ?? {}) as Record<string, unknown>;
  if (data.domain !== 'switch' || !RELAY_SERVICES.includes(String(data.service))) {
    return { kind: 'ignored-service' };
  }
  // Home Assistant merges the call's target into service_data before it fires the event.
  const serviceData = (data.service_data ?? {}) as Record<string, unknown>;
  return {
    kind: 'service',
    service: data.service as RelayService,
    entityIds: entityIds(serviceData.entity_id),
  };
}

/** entity_id as Home Assistant accepts it: one id, a comma-separated list, or an array. */
function entityIds(v: unknown): string[] {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : [];
  return list
    .filter((x): x is string => typeof x === 'string')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The relay state a service asks for, given the current one (toggle flips it). */
export function requestedRelay(service: RelayService, current: SettableRelay | null): SettableRelay {
  if (service === 'turn_on') return 'CLOSED';
  if (service === 'turn_off') return 'OPEN';
  return current === 'CLOSED' ? 'OPEN' : 'CLOSED';
}
