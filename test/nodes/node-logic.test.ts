/**
 * The Node-RED-free pieces of the nodes: status mapping, command parsing, message shaping, config
 * resolution. The node tests cover the same paths end to end; these pin every branch cheaply.
 */
import assert from 'node:assert/strict';
import { NO_IDENTITY, type Circuit, type PanelSnapshot } from '../../src/model/panel';
import type { DataEvent, HealthEvent, HealthState } from '../../src/supervisor/types';
import { parseCircuitCommand, parseRelay, CommandInputError } from '../../nodes/lib/circuit-command';
import { expandEnv, unresolvedEnv } from '../../nodes/lib/env';
import { formatPower, formatRetry, healthStatus } from '../../nodes/lib/health-status';
import {
  circuitMessage,
  fingerprint,
  freshness,
  pollPayload,
  selectCircuits,
} from '../../nodes/lib/messages';
import { resolvePanelConfig } from '../../nodes/lib/panel-config';
import { translate } from './support';

function health(state: HealthState, extra: Partial<HealthEvent> = {}): HealthEvent {
  return {
    state,
    previous: null,
    reason: 'test',
    errorClass: null,
    consecutiveFailures: 0,
    lastSuccessAt: null,
    nextAttemptAt: null,
    nextAttemptInMs: null,
    outageMs: null,
    since: new Date(0).toISOString(),
    api: 'v2',
    legacyApi: false,
    dataModel: 'v2-flat',
    transition: true,
    ...extra,
  };
}

function circuit(extra: Partial<Circuit> = {}): Circuit {
  return {
    id: 'c1',
    name: 'Kitchen',
    tabs: [3, 5],
    relay: 'CLOSED',
    priority: 'NEVER',
    priorityRaw: 'NEVER',
    controllable: true,
    sheddable: true,
    neverBackup: false,
    powerW: 1234.56,
    powerRawW: -1234.56,
    consumedEnergyWh: 9876.54,
    producedEnergyWh: 1.2,
    netEnergyWh: 9875.34,
    currentA: null,
    breakerRatingA: 20,
    powerUpdatedAt: null,
    energyUpdatedAt: null,
    relayRequester: null,
    pcsManaged: null,
    pcsPriority: null,
    ...extra,
  };
}

function snapshot(gridPowerW: number | null = 3210): PanelSnapshot {
  return {
    api: 'v2',
    dataModel: 'v2-flat',
    receivedAt: 1000,
    panel: { serial: 'nj-2316-TEST', gridPowerW } as PanelSnapshot['panel'],
    circuits: { c1: circuit(), c2: circuit({ id: 'c2', name: null, powerW: null }) },
    battery: {
      socPercent: 50,
      soeKWh: null,
      connected: true,
      gridState: null,
      powerW: null,
      nameplateCapacityKWh: null,
      relativePosition: null,
      feed: null,
      identity: NO_IDENTITY,
    },
    pv: null,
    evse: null,
    unmappedTabs: null,
    energyRegressions: [],
  };
}

const data = (s = snapshot(), stale = false): DataEvent => ({ snapshot: s, stale, dataAgeMs: 1500 });

/** The status exactly as a user sees it (through the en-US catalog). */
function shown(h: HealthEvent | null, d: DataEvent | null = null) {
  const s = healthStatus(h, d);
  return { fill: s.fill, shape: s.shape, text: translate(`span-panel.status.${s.key}`, s.params) };
}

describe('node logic (no Node-RED)', () => {
  describe('health → node status', () => {
    it('maps every state to colour, shape and a short text', () => {
      assert.deepEqual(shown(health('online'), data()), {
        fill: 'green',
        shape: 'dot',
        text: 'online · 3.2 kW',
      });
      assert.deepEqual(shown(health('online')), { fill: 'green', shape: 'dot', text: 'online' });
      assert.deepEqual(shown(health('online', { legacyApi: true }), data(snapshot(850))), {
        fill: 'green',
        shape: 'ring',
        text: 'legacy API · 850 W',
      });
      assert.deepEqual(shown(health('connecting')), { fill: 'yellow', shape: 'ring', text: 'connecting' });
      assert.deepEqual(shown(health('degraded')), { fill: 'yellow', shape: 'ring', text: 'degraded' });
      assert.deepEqual(shown(health('offline', { nextAttemptInMs: 7400 })), {
        fill: 'red',
        shape: 'ring',
        text: 'offline · retry 8s',
      });
      assert.deepEqual(shown(health('offline')), { fill: 'red', shape: 'ring', text: 'offline' });
      assert.deepEqual(shown(health('auth-failed')), { fill: 'red', shape: 'ring', text: 'auth failed' });
      assert.deepEqual(shown(health('stopped')), { fill: 'grey', shape: 'ring', text: 'stopped' });
      assert.deepEqual(shown(null), { fill: 'grey', shape: 'ring', text: 'stopped' });
    });

    it('keeps every status text under 20 characters', () => {
      const worst = [
        // 48 kW is a 200 A service at 240 V: more than any panel carries.
        shown(health('online', { legacyApi: true }), data(snapshot(-99_999))),
        shown(health('online', { legacyApi: true }), data(snapshot(-9_949))),
        shown(health('offline', { nextAttemptInMs: 59_999 })),
        shown(health('online'), data(snapshot(99_999))),
      ];
      for (const s of worst) assert.ok(s.text.length <= 20, `"${s.text}"`);
    });

    it('formats power and retry times', () => {
      assert.equal(formatPower(null), null);
      assert.equal(formatPower(0), '0 W');
      assert.equal(formatPower(999.4), '999 W');
      assert.equal(formatPower(-1450), '-1.4 kW');
      assert.equal(formatPower(9949), '9.9 kW');
      assert.equal(formatPower(-12_345), '-12 kW');
      assert.equal(formatPower(Number.NaN), null);
      assert.equal(formatRetry(0), '0s');
      assert.equal(formatRetry(1), '1s');
      assert.equal(formatRetry(60_000), '60s');
      assert.equal(formatRetry(300_000), '5m');
    });
  });

  describe('span-circuit input', () => {
    it('accepts every on/off spelling, case-insensitive', () => {
      for (const v of ['on', 'ON', 'true', 'True', '1', 'closed', 'CLOSED', ' on ', true, 1]) {
        assert.equal(parseRelay(v), 'CLOSED', String(v));
      }
      for (const v of ['off', 'Off', 'false', 'FALSE', '0', 'open', 'OPEN', false, 0]) {
        assert.equal(parseRelay(v), 'OPEN', String(v));
      }
      for (const v of ['toggle', 2, -1, null, {}, [], 'onn']) assert.equal(parseRelay(v), null, String(v));
    });

    it('reads relay and priority (both vocabularies) and rejects the rest clearly', () => {
      assert.deepEqual(parseCircuitCommand({ payload: 'off' }), {
        relay: 'OPEN',
        priority: null,
        chargeCurrentA: null,
      });
      assert.deepEqual(parseCircuitCommand({ priority: 'nice_to_have' }), {
        relay: null,
        priority: 'SOC_THRESHOLD',
        chargeCurrentA: null,
      });
      assert.deepEqual(parseCircuitCommand({ payload: 1, priority: 'OFF_GRID' }), {
        relay: 'CLOSED',
        priority: 'OFF_GRID',
        chargeCurrentA: null,
      });
      assert.deepEqual(parseCircuitCommand({ priority: 'must-have' }).priority, 'NEVER');
      assert.throws(() => parseCircuitCommand({}), /no command/);
      assert.throws(() => parseCircuitCommand({ payload: '' }), /no command/);
      assert.throws(
        () => parseCircuitCommand({ payload: 'x'.repeat(500) }),
        (e: Error) => {
          assert.ok(e instanceof CommandInputError);
          assert.ok(e.message.length < 200, 'long input is not echoed in full');
          return true;
        },
      );
      assert.throws(
        () => parseCircuitCommand({ payload: 'on', priority: 'UNKNOWN' }),
        /invalid msg\.priority/,
      );
    });
  });

  describe('messages', () => {
    it('builds poll payloads with only the parts asked for', () => {
      const all = pollPayload(snapshot(), { panel: true, circuits: true, battery: true });
      assert.deepEqual(Object.keys(all).sort(), [
        'api',
        'battery',
        'circuits',
        'dataModel',
        'energyRegressions',
        'evse',
        'panel',
        'pv',
        'receivedAt',
        'unmappedTabs',
      ]);
      const s = snapshot();
      const copy = pollPayload(s, { panel: true, circuits: true, battery: true }) as {
        circuits: PanelSnapshot['circuits'];
      };
      copy.circuits.c1.powerW = -1;
      assert.equal(s.circuits.c1.powerW, 1234.56, 'editing a message leaves the snapshot alone');
      const none = pollPayload(snapshot(), { panel: false, circuits: false, battery: false });
      assert.equal('panel' in none || 'circuits' in none || 'battery' in none, false);
    });

    it('marks data stale only when the panel is not online or the data is old', () => {
      assert.equal(freshness(health('online'), data()), null);
      assert.deepEqual(freshness(health('online'), data(snapshot(), true)), { stale: true, dataAgeMs: 1500 });
      assert.deepEqual(freshness(health('offline'), data(snapshot(), true)), {
        stale: true,
        dataAgeMs: 1500,
      });
      // Degraded (e.g. slow answers) with a fresh read: flagged, but not called stale.
      assert.deepEqual(freshness(health('degraded'), data()), { stale: false, dataAgeMs: 1500 });
      assert.deepEqual(freshness(null, data()), { stale: false, dataAgeMs: 1500 });
    });

    it('fingerprints ignore the receive time but not the values or staleness', () => {
      const a = snapshot();
      const b = { ...snapshot(), receivedAt: 99_999 };
      assert.equal(fingerprint(a, false), fingerprint(b, false));
      assert.notEqual(fingerprint(a, false), fingerprint(a, true));
      assert.notEqual(fingerprint(a, false), fingerprint(snapshot(1), false));
    });

    it('shapes circuit messages for plain power and for the Home Assistant sensor node', () => {
      const c = circuit();
      const plain = circuitMessage(c, 'power', 'S')!;
      assert.deepEqual(plain, { topic: 'Kitchen', payload: 1234.56, circuit: c });
      assert.notEqual(plain.circuit, c, 'a copy, never the cached snapshot itself');
      const p = circuitMessage(c, 'ha-power', 'S')!;
      assert.deepEqual(p.payload, {
        state: 1234.6,
        attributes: {
          unit_of_measurement: 'W',
          device_class: 'power',
          state_class: 'measurement',
          friendly_name: 'Kitchen',
          circuit_id: 'c1',
          panel_serial: 'S',
          tabs: '3,5',
          relay: 'CLOSED',
          priority: 'NEVER',
          consumed_energy_wh: 9876.54,
        },
      });
      const e = circuitMessage(c, 'ha-energy', 'S')!;
      assert.equal((e.payload as { state: number }).state, 9876.5);
      assert.equal(
        (e.payload as { attributes: Record<string, unknown> }).attributes.state_class,
        'total_increasing',
      );
      const unknown = circuit({ powerW: null, name: null });
      assert.equal(circuitMessage(unknown, 'ha-power', 'S'), null, 'HA rejects an empty state');
      assert.deepEqual(circuitMessage(unknown, 'power', 'S')?.payload, null);
      assert.equal(circuitMessage(unknown, 'power', 'S')?.topic, 'c1', 'id when unnamed');
    });

    it('selects one circuit or all of them', () => {
      assert.deepEqual(
        selectCircuits(snapshot(), 'all').map((c) => c.id),
        ['c1', 'c2'],
      );
      assert.equal(selectCircuits(snapshot(), 'c2')[0].id, 'c2');
      assert.deepEqual(selectCircuits(snapshot(), 'gone'), []);
    });
  });

  describe('config fields and environment variables', () => {
    const env = (vars: Record<string, string>) => (name: string) => vars[name];

    it('expands ${VAR} inside values and names what is missing', () => {
      assert.equal(expandEnv('${H}:${P}', env({ H: 'panel', P: '80' })), 'panel:80');
      assert.equal(expandEnv('${H}:${P}', env({ H: 'panel' })), 'panel:${P}');
      assert.deepEqual(unresolvedEnv('panel:${P}'), ['P']);
      assert.deepEqual(unresolvedEnv('${SPAN-HOST}'), ['SPAN-HOST']);
      assert.deepEqual(unresolvedEnv('plain'), []);
    });

    it('validates the fields into a connection config', () => {
      const ok = resolvePanelConfig(
        {
          id: 'x',
          type: 'span-panel',
          name: '',
          z: '',
          host: ' 10.0.0.5 ',
          api: 'v2',
          interval: '2.5',
          mqttPort: '',
        },
        { token: 't', passphrase: '' },
        env({}),
      );
      assert.deepEqual(ok, {
        ok: true,
        config: {
          host: '10.0.0.5',
          api: 'v2',
          intervalS: 2.5,
          mqttPort: 8883,
          caPolicy: 'follow',
          token: 't',
        },
      });
      const base = { id: 'x', type: 'span-panel', name: '', z: '' };
      const error = (def: Record<string, unknown>, creds = {}) => {
        const r = resolvePanelConfig({ ...base, ...def }, creds, env({}));
        return r.ok ? null : r.error;
      };
      assert.equal(error({ host: '' }), 'no panel host configured');
      assert.match(error({ host: 'http://panel/' }) ?? '', /invalid host/);
      assert.equal(error({ host: '${NOPE}' }), 'environment variable NOPE is not set');
      assert.match(error({ host: 'p', api: 'v3' }) ?? '', /invalid API/);
      assert.match(error({ host: 'p', interval: 'fast' }) ?? '', /invalid interval/);
      assert.match(error({ host: 'p', mqttPort: '70000' }) ?? '', /invalid MQTT port/);
      assert.match(error({ host: 'p', caPolicy: 'trust-all' }) ?? '', /invalid CA change setting/);
      assert.equal(error({ host: 'p', caPolicy: 'pinned' }), null);
      const secret = error({ host: 'p' }, { token: '${SPAN_SECRET_TOKEN}' });
      assert.equal(secret, 'environment variable SPAN_SECRET_TOKEN (token) is not set');
      assert.equal(error({ host: 'p' }, { token: 'abc${notenv' }), null, 'a secret may contain "${"');
    });
  });
});
