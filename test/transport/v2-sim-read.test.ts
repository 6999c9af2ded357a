import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import type { PanelSnapshot } from '../../src/model/panel';
import { SimulatedPanel } from '../../simulator/panel';
import { detectApi } from '../../src/transport/detect';
import { createV1Transport } from '../../src/transport/v1';
import { connectV2, registerV2 } from '../../src/transport/v2';
import { deadline, live, PASSPHRASE, rejectsWith, V2Harness, waitFor } from './v2-helpers';

/** The v2 transport against the simulated panel's v2 face (simulator/v2): detection to snapshot. */

/** Waits until the snapshot has every circuit's power and energy (the retained burst has arrived). */
async function fullSnapshot(read: () => Promise<PanelSnapshot>): Promise<PanelSnapshot> {
  return waitFor(
    async () => {
      const s = await read();
      const circuits = Object.values(s.circuits);
      const complete =
        circuits.length > 0 &&
        s.panel.gridPowerW !== null &&
        circuits.every((c) => c.powerRawW !== null && c.consumedEnergyWh !== null && c.relay !== null);
      return complete ? s : null;
    },
    8000,
    'a complete snapshot',
  );
}

describe('v2 transport on the simulated panel: detection, registration, snapshots', function () {
  this.timeout(30_000);
  const h = new V2Harness();
  afterEach(async () => {
    h.assertNoViolations();
    h.assertNoSecrets();
    await h.cleanup();
  });

  it('detects v1-only, flat and parent/child panels; a refused port is an error, not v1', async () => {
    const v1only = await SimulatedPanel.start({ controlPort: null, tickMs: 0 });
    try {
      assert.deepEqual(await detectApi(`127.0.0.1:${v1only.ports.http}`, { timeoutMs: 2000 }), { api: 'v1' });
    } finally {
      await v1only.close();
    }
    const flat = await h.panel('flat');
    const pc = await h.panel('parent-child');
    const a = await detectApi(flat.host, { timeoutMs: 2000 });
    const b = await detectApi(pc.host, { timeoutMs: 2000 });
    assert.ok(a.api === 'v2' && b.api === 'v2');
    assert.equal(a.dataModel, 'v2-flat');
    assert.equal(b.dataModel, 'v2-parent-child');
    assert.equal(a.status.serialNumber, flat.panel.state.identity.serial);
    const refused = await rejectsWith(
      detectApi(`127.0.0.1:${v1only.ports.http}`, { timeoutMs: 2000 }),
      'refused',
    );
    h.sawError(refused);
  });

  it('registers with the passphrase, connects and reads the panel (flat)', async () => {
    const p = await h.panel('flat');
    const { transport, credentials, registered } = await connectV2({
      host: p.host,
      credentials: null,
      passphrase: PASSPHRASE,
      logger: h.logger,
    });
    h.track(transport);
    assert.equal(registered, true);
    assert.ok(credentials);
    assert.equal(credentials.serial, p.panel.state.identity.serial);
    assert.equal(credentials.mqttsPort, p.panel.ports.mqtt, 'the advertised MQTTS port is used');
    const snap = await fullSnapshot(() => transport.readSnapshot(deadline(5000)));
    // The live transport holds the broker password: it must not show when inspected or serialized.
    const shown = `${inspect(transport, { depth: 6 })} ${JSON.stringify(transport)}`;
    assert.ok(
      !shown.includes(credentials.brokerPassword) && !shown.includes(PASSPHRASE),
      'no secret in inspect/JSON',
    );
    assert.equal(snap.api, 'v2');
    assert.equal(snap.dataModel, 'v2-flat');
    assert.equal(transport.dataModel, 'v2-flat');
    assert.equal(snap.panel.serial, p.panel.state.identity.serial);
    assert.equal(Object.keys(snap.circuits).length, p.panel.state.circuits.length);
    for (const c of p.panel.state.circuits) {
      const got = snap.circuits[c.id];
      assert.equal(got.name, c.name);
      assert.deepEqual(got.tabs, c.tabs);
      assert.equal(got.relay, c.relayState);
      assert.equal(got.powerRawW, c.instantPowerW);
      assert.equal(got.controllable, c.isUserControllable);
      assert.equal(got.consumedEnergyWh, c.consumedEnergyWh);
      assert.equal(got.producedEnergyWh, c.producedEnergyWh);
    }
  });

  it('registration: a wrong passphrase is "auth" without leaking it; not ready is a retryable 503', async () => {
    const p = await h.panel('flat');
    const wrong = 'wrong-passphrase-0b7e1d';
    const e1 = await rejectsWith(registerV2(p.host, { passphrase: wrong, timeoutMs: 2000 }), 'auth');
    h.sawError(e1);
    assert.match(e1.message, /passphrase not accepted/);
    assert.ok(
      !JSON.stringify(e1).includes(wrong) && !e1.message.includes(wrong) && !String(e1.stack).includes(wrong),
    );
    await p.panel.faults.inject({ kind: 'register-not-ready' });
    const e2 = await rejectsWith(registerV2(p.host, { passphrase: PASSPHRASE, timeoutMs: 2000 }), 'gateway');
    assert.match(e2.message, /not ready to register clients yet/);
    h.assertNoSecrets([wrong]);
  });

  it('flat and parent/child give the same normalized snapshot for the same panel state', async () => {
    const flat = await h.panel('flat', { seed: 7 });
    const pc = await h.panel('parent-child', { seed: 7 });
    assert.deepEqual(pc.panel.state.circuits, flat.panel.state.circuits, 'same simulated state');
    const ta = h.transport(flat);
    const a = await fullSnapshot(() => ta.readSnapshot(deadline(5000)));
    const tb = h.transport(pc);
    const b = await fullSnapshot(() => tb.readSnapshot(deadline(5000)));
    assert.equal(a.dataModel, 'v2-flat');
    assert.equal(b.dataModel, 'v2-parent-child');

    // Fields that identify the firmware differ by definition (r202603 flat vs r202633 parent/child; the
    // flat schema has no model), and `sheddable` is a published flag in the flat model but computed from
    // priority and relay-controllable in 1.0 (the migration guide retired it); relay-requester has a new
    // canonical vocabulary (ALWAYS_ON → CONFIGURATION); DER ids are node ids vs device ids; the PV's
    // position is a flat property but needs a connection record in 1.0; the forecast, the grid-forming
    // device id and the settable charge-current ceiling only exist in 1.0: everything else must match.
    assert.notEqual(a.panel.firmwareVersion, b.panel.firmwareVersion);
    const noId = <T extends { identity: object }>(d: T | null) =>
      d && { ...d, identity: { ...d.identity, deviceId: null } };
    const norm = (s: PanelSnapshot) => ({
      ...s,
      receivedAt: 0,
      dataModel: null,
      panel: {
        ...s.panel,
        firmwareVersion: null,
        model: null,
        shedForecast: null,
        gridFormingEntityRaw: null,
      },
      circuits: Object.fromEntries(
        Object.entries(s.circuits).map(([id, c]) => [id, { ...c, sheddable: null, relayRequester: null }]),
      ),
      battery: noId(s.battery),
      pv: s.pv && { ...noId(s.pv)!, relativePosition: null },
      evse: s.evse && {
        ...noId(s.evse)!,
        maxChargeCurrentA: null,
        userMaxChargeCurrentA: null,
        chargeCurrentSettable: false,
      },
    });
    const na = norm(a);
    const nb = norm(b);
    assert.deepEqual(Object.keys(na.circuits), Object.keys(nb.circuits), 'same circuits, same order');
    for (const id of Object.keys(na.circuits))
      assert.deepEqual(na.circuits[id], nb.circuits[id], `circuit ${id}`);
    for (const k of Object.keys(na.panel) as Array<keyof typeof na.panel>) {
      assert.deepEqual(na.panel[k], nb.panel[k], `panel.${k}`);
    }
    assert.deepEqual(na.battery, nb.battery, 'battery');
    assert.deepEqual(na, nb);
  });

  it('a v1 snapshot of the same simulated panel agrees on ids, names, tabs, relay and power sign', async () => {
    const token = 'v1-token-for-the-same-panel';
    const p = await h.panel('flat', { token });
    const v1 = createV1Transport({ host: p.host, token, requestTimeoutMs: 2000 });
    try {
      const s1 = await v1.readSnapshot(live());
      const t2 = h.transport(p);
      const s2 = await fullSnapshot(() => t2.readSnapshot(deadline(5000)));
      assert.deepEqual(Object.keys(s2.circuits).sort(), Object.keys(s1.circuits).sort());
      for (const [id, c1] of Object.entries(s1.circuits)) {
        const c2 = s2.circuits[id];
        assert.equal(c2.name, c1.name, `${id} name`);
        assert.deepEqual(c2.tabs, c1.tabs, `${id} tabs`);
        assert.equal(c2.relay, c1.relay, `${id} relay`);
        assert.equal(c2.controllable, c1.controllable, `${id} controllable`);
        assert.equal(c2.priority, c1.priority, `${id} priority (v2 vocabulary)`);
        assert.equal(Math.sign(c2.powerW ?? NaN), Math.sign(c1.powerW ?? NaN), `${id} power sign`);
        assert.equal(c2.powerW, c1.powerW, `${id} power`);
      }
      assert.equal(s2.panel.gridPowerW, s1.panel.gridPowerW);
      assert.deepEqual(s2.panel.mainMeterEnergy, s1.panel.mainMeterEnergy);
      assert.equal(s2.panel.dsmState, s1.panel.dsmState);
      assert.equal(s2.panel.currentRunConfig, s1.panel.currentRunConfig);
    } finally {
      await v1.close();
    }
  });
});
