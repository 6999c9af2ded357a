/**
 * The Home Assistant stand-in's core: the state machine (entity states written over REST), the event bus
 * (state_changed, call_service) and the record of everything a client did. Transport-free; server.ts
 * speaks the websocket and REST protocols on top of it. See PROTOCOL.md for the Home Assistant
 * documentation each behaviour follows.
 */

export interface HaState {
  entity_id: string;
  state: string;
  attributes: Record<string, unknown>;
  last_changed: string;
  last_updated: string;
  context: { id: string; parent_id: null; user_id: string | null };
}

export interface HaEvent {
  event_type: string;
  data: Record<string, unknown>;
  origin: 'LOCAL' | 'REMOTE';
  time_fired: string;
  context: { id: string; parent_id: null; user_id: string | null };
}

/** One accepted state write, in arrival order. */
export interface StateWrite {
  entityId: string;
  state: string;
  attributes: Record<string, unknown>;
  at: number;
}

export interface ServiceCall {
  domain: string;
  service: string;
  serviceData: Record<string, unknown>;
  via: 'websocket' | 'rest' | 'frontend';
}

/** Home Assistant's valid_entity_id (homeassistant/core.py): `<domain>.<object_id>`, lower case, digits, single `_`. */
const VALID_ENTITY_ID = /^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$/;
const MAX_STATE_LENGTH = 255;

export class InvalidEntityId extends Error {}
export class InvalidState extends Error {}

let contextCounter = 0;
export function newContext(userId: string | null = null): HaEvent['context'] {
  contextCounter += 1;
  return { id: `01STANDIN${String(contextCounter).padStart(17, '0')}`, parent_id: null, user_id: userId };
}

export class StateMachine {
  readonly states = new Map<string, HaState>();
  readonly writes: StateWrite[] = [];
  readonly serviceCalls: ServiceCall[] = [];
  private readonly listeners = new Set<(e: HaEvent) => void>();
  private readonly stateListeners = new Set<(next: HaState, previous: HaState | null) => void>();

  onEvent(fn: (e: HaEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** For subscribe_entities, which reports states, not events. */
  onState(fn: (next: HaState, previous: HaState | null) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  fire(eventType: string, data: Record<string, unknown>, context = newContext()): void {
    const event: HaEvent = {
      event_type: eventType,
      data,
      origin: 'LOCAL',
      time_fired: new Date().toISOString(),
      context,
    };
    for (const fn of [...this.listeners]) fn(event);
  }

  /**
   * hass.states.async_set as the REST API calls it: validates the id and the state, stores it, and fires
   * state_changed when state or attributes changed (an identical write changes nothing and fires nothing).
   */
  set(entityId: string, state: unknown, attributes: unknown): { created: boolean; state: HaState } {
    if (!VALID_ENTITY_ID.test(entityId) || entityId.length > 255) throw new InvalidEntityId(entityId);
    // Home Assistant's State keeps a str; the REST docs and every client send one.
    if (typeof state !== 'string' || state.length > MAX_STATE_LENGTH) throw new InvalidState(String(state));
    const attrs =
      attributes && typeof attributes === 'object' && !Array.isArray(attributes)
        ? structuredClone(attributes as Record<string, unknown>)
        : {};
    const previous = this.states.get(entityId) ?? null;
    this.writes.push({ entityId, state, attributes: attrs, at: Date.now() });
    const same =
      previous && previous.state === state && JSON.stringify(previous.attributes) === JSON.stringify(attrs);
    if (previous && same) return { created: false, state: previous };
    const now = new Date().toISOString();
    const next: HaState = {
      entity_id: entityId,
      state,
      attributes: attrs,
      last_changed: previous && previous.state === state ? previous.last_changed : now,
      last_updated: now,
      context: newContext(),
    };
    this.states.set(entityId, next);
    for (const fn of [...this.stateListeners]) fn(next, previous);
    this.fire('state_changed', { entity_id: entityId, old_state: previous, new_state: next }, next.context);
    return { created: previous === null, state: next };
  }

  /**
   * A service call: recorded, then call_service is fired on the bus with the target merged into
   * service_data, as ServiceRegistry.async_call does before it runs the handler. A switch that only exists
   * as a REST-written state has no platform behind it, so nothing else happens (Home Assistant logs that
   * the referenced entity is not available).
   */
  callService(
    domain: string,
    service: string,
    serviceData: Record<string, unknown> = {},
    target: Record<string, unknown> = {},
    via: ServiceCall['via'] = 'websocket',
    userId: string | null = null,
  ): HaEvent['context'] {
    const data = { ...serviceData, ...target };
    this.serviceCalls.push({ domain, service, serviceData: data, via });
    const context = newContext(userId);
    this.fire('call_service', { domain, service, service_data: data }, context);
    return context;
  }

  /** Every state each entity had, in order (the history a recorder would keep). */
  history(entityId: string): StateWrite[] {
    return this.writes.filter((w) => w.entityId === entityId);
  }
}
