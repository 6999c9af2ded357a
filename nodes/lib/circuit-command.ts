/**
 * Turns a span-circuit input message into a relay and/or priority command, or a clear error.
 * Pure, so every accepted and rejected spelling is unit-tested without a panel.
 */
import { parsePriority, type SettablePriority, type SettableRelay } from '../../src/model/panel';

export type { SettablePriority } from '../../src/model/panel';

export interface CircuitCommand {
  /** CLOSED = power on, OPEN = power off (the panel's relay vocabulary). */
  relay: SettableRelay | null;
  priority: SettablePriority | null;
  /** EV charger fed by this circuit: the user charge-current ceiling, whole amps. */
  chargeCurrentA: number | null;
}

export class CommandInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandInputError';
  }
}

const ON = new Set(['on', 'true', '1', 'closed', 'close']);
const OFF = new Set(['off', 'false', '0', 'open']);

/** on/true/1/CLOSED → CLOSED; off/false/0/OPEN → OPEN (case-insensitive). Null for anything else. */
export function parseRelay(value: unknown): SettableRelay | null {
  if (typeof value === 'boolean') return value ? 'CLOSED' : 'OPEN';
  if (typeof value === 'number') return value === 1 ? 'CLOSED' : value === 0 ? 'OPEN' : null;
  if (typeof value !== 'string') return null;
  const s = value.trim().toLowerCase();
  if (ON.has(s)) return 'CLOSED';
  if (OFF.has(s)) return 'OPEN';
  return null;
}

/**
 * msg.payload switches the relay, msg.priority (v1 or v2 vocabulary) sets the shed priority; either or
 * both. Throws CommandInputError naming what was wrong (never echoing large values).
 */
export function parseCircuitCommand(msg: {
  payload?: unknown;
  priority?: unknown;
  chargeCurrentA?: unknown;
}): CircuitCommand {
  const given = (v: unknown) => v !== undefined && v !== null && v !== '';
  const hasPayload = given(msg.payload);
  const hasPriority = given(msg.priority);
  const hasCharge = given(msg.chargeCurrentA);
  if (!hasPayload && !hasPriority && !hasCharge) {
    throw new CommandInputError(
      'no command: send msg.payload on/off (true/false, 1/0, CLOSED/OPEN), msg.priority or msg.chargeCurrentA',
    );
  }
  let relay: CircuitCommand['relay'] = null;
  if (hasPayload) {
    relay = parseRelay(msg.payload);
    if (relay === null) {
      throw new CommandInputError(
        `invalid msg.payload ${describe(msg.payload)}: expected on/off, true/false, 1/0 or CLOSED/OPEN`,
      );
    }
  }
  let priority: SettablePriority | null = null;
  if (hasPriority) {
    const p = parsePriority(msg.priority);
    if (p === null || p === 'UNKNOWN') {
      throw new CommandInputError(
        `invalid msg.priority ${describe(msg.priority)}: expected NEVER, SOC_THRESHOLD, OFF_GRID ` +
          '(or MUST_HAVE, NICE_TO_HAVE, NON_ESSENTIAL)',
      );
    }
    priority = p;
  }
  let chargeCurrentA: number | null = null;
  if (hasCharge) {
    const v = msg.chargeCurrentA;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n)) {
      throw new CommandInputError(
        `invalid msg.chargeCurrentA ${describe(v)}: expected a whole number of amps, e.g. 16`,
      );
    }
    chargeCurrentA = n;
  }
  return { relay, priority, chargeCurrentA };
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return '(an array)';
  return `(${typeof v})`;
}
