/**
 * Panel data is untrusted (issue 12): circuit ids that are not plain identifiers stay ordinary keys in the
 * parsers' output, maps keyed by circuit id shrink when the panel drops a circuit, and the v2 transport
 * refuses an MQTT packet larger than its limit before buffering it (MQTT.js enforces no limit on 3.1.1).
 */
import assert from 'node:assert/strict';
import { EnergyGuard } from '../../src/model/energy-guard';
import { normalizeV1Snapshot } from '../../src/transport/v1/normalize';
import { buildFlatSnapshot, HomieTree } from '../../src/transport/v2';
import { MqttPacketSizeGuard } from '../../src/transport/v2/packet-limit';
import { loadFixture } from '../helpers/fixtures';
import { V2Harness } from './v2-helpers';

const CIRCUIT = 'energy.ebus.device.circuit';
const description = (ids: string[]) =>
  JSON.stringify({
    homie: '5.0',
    version: 1,
    name: 'panel',
    // Built as JSON text: `__proto__` in an object literal would set the prototype instead.
    nodes: JSON.parse(
      `{${ids.map((id) => `"${id}":{"name":"c","type":"${CIRCUIT}","properties":{}}`).join(',')}}`,
    ),
  });

describe('untrusted panel data', function () {
  this.timeout(30000);

  it('v2 flat: __proto__ / constructor node ids are circuits; dropped circuits leave the energy guard', () => {
    const tree = new HomieTree();
    const serial = 'nj-2316-TEST';
    const ids = ['__proto__', 'constructor', 'abc123'];
    tree.ingest(`ebus/5/${serial}/$description`, description(ids));
    for (const id of ids) {
      tree.ingest(`ebus/5/${serial}/${id}/name`, `name ${id}`);
      tree.ingest(`ebus/5/${serial}/${id}/exported-energy`, '100');
      tree.ingest(`ebus/5/${serial}/${id}/imported-energy`, '5');
    }
    const guard = new EnergyGuard();
    const snap = buildFlatSnapshot(tree, serial, guard, Date.now());
    assert.equal(Object.getPrototypeOf(snap.circuits), null);
    assert.deepEqual(Object.keys(snap.circuits), ids);
    assert.equal(snap.circuits['__proto__'].name, 'name __proto__');
    assert.equal(snap.circuits['constructor'].consumedEnergyWh, 100);
    assert.equal(guard.size, 6);

    tree.ingest(`ebus/5/${serial}/$description`, description(['__proto__', 'constructor']));
    const after = buildFlatSnapshot(tree, serial, guard, Date.now());
    assert.deepEqual(Object.keys(after.circuits), ['__proto__', 'constructor']);
    assert.equal(guard.size, 4, 'the dropped circuit is forgotten');
    assert.equal(Object.hasOwn(after.circuits, 'toString'), false);
  });

  it('v1: a circuits body keyed __proto__ keeps that circuit as data', () => {
    const circuits = loadFixture<{ circuits: Record<string, unknown> }>('v1_circuits.json');
    const [firstId] = Object.keys(circuits.circuits);
    const text = JSON.stringify(circuits).split(`"${firstId}"`).join('"__proto__"');
    const bodies = {
      status: loadFixture('v1_status.json'),
      panel: loadFixture('v1_panel.json'),
      circuits: JSON.parse(text) as unknown,
      soe: loadFixture('v1_soe.json'),
    };
    const guard = new EnergyGuard();
    const snap = normalizeV1Snapshot(bodies, guard, Date.now());
    assert.equal(Object.getPrototypeOf(snap.circuits), null);
    assert.ok(Object.hasOwn(snap.circuits, '__proto__'));
    assert.equal(snap.circuits['__proto__'].id, '__proto__');
    assert.equal(Object.keys(snap.circuits).length, Object.keys(circuits.circuits).length);
  });

  it('the packet-size guard reads MQTT fixed headers across chunk boundaries', () => {
    const guard = new MqttPacketSizeGuard(200);
    // PUBLISH with remaining length 100 (1 length byte), then one with 300 (2 bytes: 0xAC 0x02) split.
    const small = Buffer.concat([Buffer.from([0x30, 100]), Buffer.alloc(100)]);
    assert.equal(guard.feed(small.subarray(0, 50)), null);
    assert.equal(guard.feed(Buffer.concat([small.subarray(50), Buffer.from([0x30, 0xac])])), null);
    const err = guard.feed(Buffer.from([0x02]));
    assert.ok(err, 'the oversized packet is refused at its header');
    assert.equal(err.announcedBytes, 1 + 2 + 300);
  });

  describe('against the simulated broker', () => {
    const h = new V2Harness();
    afterEach(() => h.cleanup());

    it('drops the connection on a packet over the limit, before buffering it; the default limit fits', async () => {
      const p = await h.panel('flat');
      const serial = p.panel.state.identity.serial;
      const limited = h.transport(p, { maxPacketBytes: 64 * 1024 });
      const roomy = h.transport(p);
      for (const t of [limited, roomy]) await t.readSnapshot(AbortSignal.timeout(10000));
      const connections = limited.stats.connections;

      // A 100 KB retained value: within the default 1 MiB, over the 64 KB limit.
      await p.v2.broker.publish(`ebus/5/${serial}/core/huge`, 'x'.repeat(100 * 1024));
      const end = Date.now() + 5000;
      while (limited.stats.lastError?.code !== 'ERR_MQTT_PACKET_TOO_LARGE' && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const err = limited.stats.lastError;
      assert.equal(err?.errorClass, 'protocol', String(err?.message));
      assert.match(err.message, /packet of \d+ bytes \(limit 65536\)/);
      assert.ok(roomy.isConnected, 'the default limit accepts it');
      assert.equal(roomy.stats.connections, 1, 'and never dropped the connection');
      assert.ok(limited.stats.connections >= connections);
    });
  });
});
