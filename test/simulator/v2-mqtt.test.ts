import assert from 'node:assert/strict';
import { SimulatedPanel } from '../../simulator/panel';
import { createV2Plugin, type SimDataModel, type HomieDescription, type V2Plugin } from '../../simulator/v2';
import { HomieProbe } from '../../simulator/v2/probe';
import { expectResponse, rawRequest } from '../helpers/http-client';

const PASSPHRASE = 'mqtt-test-passphrase';
const V1_TOKEN = 'v2-mqtt-test-v1-token';

interface V1Circuit {
  id: string;
  name: string;
  relayState: string;
  instantPowerW: number;
  producedEnergyWh: number;
  consumedEnergyWh: number;
  tabs: number[];
  priority: string;
  isUserControllable: boolean;
  isNeverBackup: boolean;
  isSheddable: boolean;
}
interface V1Panel {
  instantGridPowerW: number;
  feedthroughPowerW: number;
  mainMeterEnergy: { producedEnergyWh: number; consumedEnergyWh: number };
  feedthroughEnergy: { producedEnergyWh: number; consumedEnergyWh: number };
  mainRelayState: string;
}
interface V1Snapshot {
  circuits: Record<string, V1Circuit>;
  panel: V1Panel;
  soe: number;
  doorState: string;
}

const V2_PRIORITY: Record<string, string> = {
  MUST_HAVE: 'NEVER',
  NICE_TO_HAVE: 'SOC_THRESHOLD',
  NON_ESSENTIAL: 'OFF_GRID',
};

/** A panel with the v2 face, its clock, and helpers to reach both faces as a client would. */
class Rig {
  readonly clock = { t: Date.UTC(2026, 8, 15, 12, 0, 0) };
  panel!: SimulatedPanel;
  v2!: V2Plugin;
  readonly probes: HomieProbe[] = [];
  credentials!: { username: string; password: string };
  ca!: string;

  constructor(readonly dataModel: SimDataModel) {}

  async start(): Promise<this> {
    this.v2 = createV2Plugin({ dataModel: this.dataModel, passphrase: PASSPHRASE });
    this.panel = await SimulatedPanel.start({
      seed: 11,
      tickMs: 0,
      now: () => this.clock.t,
      token: V1_TOKEN,
      controlPort: null,
      plugins: [this.v2],
    });
    // Bootstrap exactly as a client does: register over REST, then fetch the CA to pin.
    const reg = expectResponse(
      await rawRequest(this.panel.ports.http, '/api/v2/auth/register', {
        method: 'POST',
        body: { name: `test-${this.dataModel}`, hopPassphrase: PASSPHRASE },
        agent: false,
      }),
    );
    assert.equal(reg.status, 200);
    const auth = JSON.parse(reg.body) as { ebusBrokerUsername: string; ebusBrokerPassword: string };
    this.credentials = { username: auth.ebusBrokerUsername, password: auth.ebusBrokerPassword };
    this.ca = expectResponse(
      await rawRequest(this.panel.ports.http, '/api/v2/certificate/ca', { agent: false }),
    ).body;
    return this;
  }

  get serial(): string {
    return this.panel.state.identity.serial;
  }

  async probe(overrides: { password?: string; username?: string } = {}): Promise<HomieProbe> {
    const probe = await HomieProbe.connect({
      port: this.panel.ports.mqtt!,
      ca: this.ca,
      username: overrides.username ?? this.credentials.username,
      password: overrides.password ?? this.credentials.password,
    });
    this.probes.push(probe);
    return probe;
  }

  async v1(): Promise<V1Snapshot> {
    const get = async (path: string) =>
      JSON.parse(
        expectResponse(
          await rawRequest(this.panel.ports.http, path, {
            headers: { authorization: `Bearer ${V1_TOKEN}` },
            agent: false,
          }),
        ).body,
      ) as unknown;
    const circuits = ((await get('/api/v1/circuits')) as { circuits: Record<string, V1Circuit> }).circuits;
    const panel = (await get('/api/v1/panel')) as V1Panel;
    const soe = ((await get('/api/v1/storage/soe')) as { soe: { percentage: number } }).soe.percentage;
    const status = (await get('/api/v1/status')) as { system: { doorState: string } };
    return { circuits, panel, soe, doorState: status.system.doorState };
  }

  async close(): Promise<void> {
    for (const p of this.probes.splice(0)) await p.close();
    await this.panel?.close();
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Number from a Homie float payload (must be a plain decimal). */
function num(payload: string | undefined, what: string): number {
  assert.ok(payload !== undefined, `${what} is published`);
  assert.match(payload, /^-?\d+(\.\d+)?(e-?\d+)?$/, `${what} is a number: ${payload}`);
  return Number(payload);
}

/** Waits until the probe holds every value of the plugin's current tree (the full retained snapshot). */
async function waitForFullTree(rig: Rig, probe: HomieProbe): Promise<number> {
  const tree = rig.v2.currentTree();
  const expected = new Map<string, string>();
  for (const d of tree.devices) {
    expected.set(`ebus/5/${d.id}/$state`, 'ready');
    expected.set(`ebus/5/${d.id}/$description`, JSON.stringify(d.description));
    for (const [k, v] of d.values) expected.set(`ebus/5/${d.id}/${k}`, v);
  }
  await probe.waitFor(
    () => [...expected].every(([t, v]) => probe.latest.get(t) === v),
    5000,
    'the full retained tree',
  );
  return expected.size;
}

describe('simulator v2 MQTT broker and Homie trees', function () {
  this.timeout(20_000);
  let rig: Rig | null = null;
  const start = async (model: SimDataModel) => (rig = await new Rig(model).start());
  afterEach(async () => {
    await rig?.close();
    rig = null;
  });

  describe('flat data model (r202603)', () => {
    it('delivers the full retained tree, consistent with the v1 REST face for the same state', async () => {
      const r = await start('flat');
      const probe = await r.probe();
      await probe.subscribe(`ebus/5/${r.serial}/#`);
      const count = await waitForFullTree(r, probe);
      assert.ok(count > 350, `a full tree (${count} topics)`);
      assert.ok(
        probe.messages.every((m) => m.retain),
        'a fresh subscriber receives only retained messages',
      );

      const root = `ebus/5/${r.serial}`;
      const t = (suffix: string) => probe.latest.get(`${root}/${suffix}`);
      assert.equal(t('$state'), 'ready');
      const desc = JSON.parse(t('$description')!) as HomieDescription;
      assert.equal(desc.homie, '5.0');
      assert.ok(Number.isInteger(desc.version));
      assert.equal(desc.type, 'energy.ebus.device.distribution-enclosure');
      assert.equal(desc.children, undefined, 'flat has no children');
      assert.equal(desc.nodes.core!.type, 'energy.ebus.device.distribution-enclosure.core');
      assert.equal(desc.nodes['lugs-upstream']!.type, 'energy.ebus.device.lugs');
      assert.equal(desc.nodes['lugs-downstream']!.type, 'energy.ebus.device.lugs');
      assert.equal(desc.nodes['power-flows']!.type, 'energy.ebus.device.power-flows');
      assert.equal(desc.nodes.bess!.type, 'energy.ebus.device.bess');
      assert.equal(desc.nodes.core!.properties['dominant-power-source']!.settable, true);
      assert.equal(t('core/data-model-version'), undefined, 'no data-model-version on flat');

      const v1 = await r.v1();
      assert.equal(t('core/serial-number'), r.serial);
      assert.equal(t('core/software-version'), 'spanos2/r202603/05');
      assert.equal(t('core/door'), v1.doorState);
      assert.equal(t('core/relay'), v1.panel.mainRelayState);
      assert.equal(num(t('lugs-upstream/active-power'), 'grid power'), v1.panel.instantGridPowerW);
      assert.equal(
        num(t('lugs-upstream/imported-energy'), 'import'),
        v1.panel.mainMeterEnergy.consumedEnergyWh,
      );
      assert.equal(
        num(t('lugs-upstream/exported-energy'), 'export'),
        v1.panel.mainMeterEnergy.producedEnergyWh,
      );
      assert.equal(num(t('lugs-downstream/active-power'), 'feedthrough'), v1.panel.feedthroughPowerW);
      assert.equal(
        num(t('lugs-downstream/imported-energy'), 'feedthrough import'),
        v1.panel.feedthroughEnergy.consumedEnergyWh,
      );
      assert.equal(num(t('power-flows/grid'), 'grid flow'), -v1.panel.instantGridPowerW);
      const flows = ['pv', 'battery', 'grid', 'site'].map((p) => num(t(`power-flows/${p}`), p));
      assert.ok(Math.abs(flows.reduce((a, b) => a + b, 0)) < 1e-6, 'pv + battery + grid + site = 0');
      assert.ok(flows[0]! < 0, 'pv < 0 while generating');
      assert.equal(Math.round(num(t('bess/soc'), 'soc')), v1.soe);

      assert.equal(Object.keys(v1.circuits).length, 22);
      for (const c of Object.values(v1.circuits)) {
        const p = (prop: string) => t(`${c.id}/${prop}`);
        assert.equal(desc.nodes[c.id]!.type, 'energy.ebus.device.circuit');
        assert.equal(p('name'), c.name);
        assert.equal(p('relay'), c.relayState);
        assert.equal(num(p('active-power'), `${c.name} power`), c.instantPowerW, `${c.name} power, v1 sign`);
        assert.equal(num(p('imported-energy'), 'imported'), c.producedEnergyWh);
        assert.equal(num(p('exported-energy'), 'exported'), c.consumedEnergyWh);
        assert.equal(p('space'), String(Math.min(...c.tabs)));
        assert.equal(p('dipole'), String(c.tabs.length === 2));
        assert.equal(p('shed-priority'), V2_PRIORITY[c.priority]);
        assert.equal(p('always-on'), String(!c.isUserControllable));
        assert.equal(p('never-backup'), String(c.isNeverBackup));
        assert.equal(p('sheddable'), String(c.isSheddable));
      }
    });

    it('republishes changed values on every state change, still matching v1', async () => {
      const r = await start('flat');
      const probe = await r.probe();
      await probe.subscribe(`ebus/5/${r.serial}/#`);
      await waitForFullTree(r, probe);
      const before = probe.messages.length;
      r.clock.t += 5000;
      r.panel.state.tick();
      await waitForFullTree(r, probe);
      assert.ok(probe.messages.length > before, 'values were republished');
      const fresh = probe.messages.slice(before);
      assert.ok(
        fresh.every((m) => !m.topic.endsWith('$description') && !m.topic.endsWith('$state')),
        'a tick republishes values only',
      );
      const v1 = await r.v1();
      const root = `ebus/5/${r.serial}`;
      assert.equal(
        num(probe.latest.get(`${root}/lugs-upstream/active-power`), 'grid'),
        v1.panel.instantGridPowerW,
      );
      for (const c of Object.values(v1.circuits)) {
        assert.equal(num(probe.latest.get(`${root}/${c.id}/active-power`), c.name), c.instantPowerW);
        assert.equal(num(probe.latest.get(`${root}/${c.id}/exported-energy`), c.name), c.consumedEnergyWh);
      }
    });

    it('a relay /set round trip is confirmed by the retained republish, and v1 sees it', async () => {
      const r = await start('flat');
      const probe = await r.probe();
      const target = r.panel.state.circuits.find((c) => c.isUserControllable && c.relayState === 'CLOSED')!;
      const relayTopic = `ebus/5/${r.serial}/${target.id}/relay`;
      await probe.subscribe(`ebus/5/${r.serial}/${target.id}/+`);
      await probe.waitFor(() => probe.latest.get(relayTopic) === 'CLOSED');

      await probe.publish(`${relayTopic}/set`, 'OPEN');
      const powerTopic = `ebus/5/${r.serial}/${target.id}/active-power`;
      await probe.waitFor(
        () => probe.latest.get(relayTopic) === 'OPEN' && probe.latest.get(powerTopic) === '0',
        5000,
        'relay OPEN and 0 W republished',
      );
      const confirmation = probe.messages.filter((m) => m.topic === relayTopic).at(-1)!;
      assert.equal(
        confirmation.retain,
        false,
        'live delivery to a subscriber (MQTT clears retain on live messages)',
      );
      assert.equal(probe.latest.get(`ebus/5/${r.serial}/${target.id}/relay-requester`), 'USER');
      assert.equal((await r.v1()).circuits[target.id]!.relayState, 'OPEN');

      // A late subscriber gets the new value retained.
      const late = await r.probe();
      await late.subscribe(relayTopic);
      await late.waitFor(() => late.latest.get(relayTopic) === 'OPEN');
      assert.equal(late.messages[0]!.retain, true);
      // The command itself is not retained.
      await late.subscribe(`${relayTopic}/set`);
      await probe.publish(`${relayTopic}/set`, 'CLOSED');
      await late.waitFor(() => late.latest.get(relayTopic) === 'CLOSED');
      assert.equal(r.v2.commandLog.at(-1)!.outcome, 'applied');
      assert.equal(r.v2.broker.violations.length, 0);
    });

    it('a /set on a locked circuit has no effect and is not republished', async () => {
      const r = await start('flat');
      const probe = await r.probe();
      const locked = r.panel.state.circuits.find((c) => !c.isUserControllable)!;
      const free = r.panel.state.circuits.find((c) => c.isUserControllable && c.relayState === 'CLOSED')!;
      await probe.subscribe([`ebus/5/${r.serial}/${locked.id}/relay`, `ebus/5/${r.serial}/${free.id}/relay`]);
      await probe.waitFor(() => probe.latest.get(`ebus/5/${r.serial}/${free.id}/relay`) === 'CLOSED');

      await probe.publish(`ebus/5/${r.serial}/${locked.id}/relay/set`, 'OPEN');
      // Commands are handled in order: once the next one is confirmed, the first was handled too.
      await probe.publish(`ebus/5/${r.serial}/${free.id}/relay/set`, 'OPEN');
      await probe.waitFor(() => probe.latest.get(`ebus/5/${r.serial}/${free.id}/relay`) === 'OPEN');

      assert.deepEqual(
        probe.history(`ebus/5/${r.serial}/${locked.id}/relay`),
        ['CLOSED'],
        'never republished',
      );
      assert.equal(r.panel.state.circuit(locked.id)!.relayState, 'CLOSED');
      assert.equal((await r.v1()).circuits[locked.id]!.relayState, 'CLOSED');
      const record = r.v2.commandLog.find((c) => c.topic.includes(locked.id))!;
      assert.equal(record.outcome, 'ignored');
      assert.equal(record.reason, 'circuit is not controllable');
    });

    it('shed-priority /set maps to the v1 priority; UNKNOWN is ignored', async () => {
      const r = await start('flat');
      const probe = await r.probe();
      const target = r.panel.state.circuits.find(
        (c) => c.isUserControllable && c.priority === 'NON_ESSENTIAL',
      )!;
      const topic = `ebus/5/${r.serial}/${target.id}/shed-priority`;
      await probe.subscribe(topic);
      await probe.waitFor(() => probe.latest.get(topic) === 'OFF_GRID');
      await probe.publish(`${topic}/set`, 'UNKNOWN');
      await probe.publish(`${topic}/set`, 'NEVER');
      await probe.waitFor(() => probe.latest.get(topic) === 'NEVER');
      assert.deepEqual(probe.history(topic), ['OFF_GRID', 'NEVER']);
      assert.equal((await r.v1()).circuits[target.id]!.priority, 'MUST_HAVE');
    });
  });

  describe('parent/child data model (1.0, r202633)', () => {
    it('publishes a discoverable device tree consistent with v1 REST', async () => {
      const r = await start('parent-child');
      const probe = await r.probe();
      // Discovery as the guide describes: the root's $description first, then its children.
      const rootDescTopic = `ebus/5/${r.serial}/$description`;
      await probe.subscribe(rootDescTopic);
      await probe.waitFor(() => probe.latest.has(rootDescTopic));
      const root = JSON.parse(probe.latest.get(rootDescTopic)!) as HomieDescription;
      assert.equal(root.type, 'energy.ebus.device.distribution-enclosure');
      assert.equal(root.homie, '5.0');
      assert.deepEqual(Object.keys(root.nodes), [
        'info',
        'door',
        'status',
        'meter',
        'breaker',
        'power-flows',
        'pcs',
        'shed-forecast',
        'shed',
      ]);
      for (const [id, node] of Object.entries(root.nodes))
        assert.equal(node.type, `energy.ebus.capability.${id}`);
      const children = root.children!;
      assert.equal(children.length, 2 + 22 + 1 + 2); // lugs, circuits, BESS, PV, EV charger;
      await probe.subscribe([`ebus/5/${r.serial}/#`, ...children.map((c) => `ebus/5/${c}/#`)]);
      const at = (device: string, suffix: string) => probe.latest.get(`ebus/5/${device}/${suffix}`);
      const descOf = (device: string) => JSON.parse(at(device, '$description')!) as HomieDescription;
      // Discovery is recursive: the BESS has the MID as its own child (a grandchild of the panel).
      await probe.waitFor(() => children.every((c) => at(c, '$description') !== undefined));
      const grandchildren = children.flatMap((c) => descOf(c).children ?? []);
      assert.equal(grandchildren.length, 1);
      await probe.subscribe(grandchildren.map((c) => `ebus/5/${c}/#`));
      await waitForFullTree(r, probe);
      const byType = new Map<string, string[]>();
      for (const id of children) {
        const d = descOf(id);
        assert.equal(d.root, r.serial);
        assert.equal(d.parent, r.serial);
        assert.equal(at(id, '$state'), 'ready');
        byType.set(d.type, [...(byType.get(d.type) ?? []), id]);
      }
      assert.equal(byType.get('energy.ebus.device.lugs')!.length, 2);
      assert.equal(byType.get('energy.ebus.device.circuit')!.length, 22);
      const [bess] = byType.get('energy.ebus.device.bess')!;
      const mid = descOf(bess!).children![0]!;
      assert.equal(descOf(mid).type, 'energy.ebus.device.mid');
      assert.equal(descOf(mid).parent, bess);
      assert.equal(descOf(mid).root, r.serial);
      assert.equal(at(mid, 'grid/islanding-state'), 'ON_GRID');
      assert.equal(at(mid, 'grid/grid-forming-entity'), 'GRID');

      const v1 = await r.v1();
      assert.equal(at(r.serial, 'info/data-model-version'), '1.0');
      assert.match(at(r.serial, 'info/firmware-version')!, /r202633/);
      assert.equal(at(r.serial, 'door/state'), v1.doorState);
      assert.equal(at(r.serial, 'status/relay'), v1.panel.mainRelayState);
      const up = `${r.serial}-lugs-up`;
      const dn = `${r.serial}-lugs-dn`;
      assert.equal(at(up, 'info/direction'), 'UPSTREAM');
      assert.equal(at(dn, 'info/direction'), 'DOWNSTREAM');
      assert.equal(num(at(up, 'meter/active-power'), 'grid'), v1.panel.instantGridPowerW);
      assert.equal(num(at(up, 'meter/imported-energy'), 'import'), v1.panel.mainMeterEnergy.consumedEnergyWh);
      assert.equal(num(at(up, 'meter/exported-energy'), 'export'), v1.panel.mainMeterEnergy.producedEnergyWh);
      assert.equal(num(at(dn, 'meter/active-power'), 'feedthrough'), v1.panel.feedthroughPowerW);
      assert.equal(
        at(up, 'meter/current-a'),
        at(dn, 'meter/current-a'),
        'service-entrance current on both lugs',
      );
      assert.equal(at(up, 'connection/fed-by-device-id'), bess);
      assert.equal(num(at(r.serial, 'power-flows/grid'), 'grid flow'), -v1.panel.instantGridPowerW);
      assert.equal(Math.round(num(at(bess!, 'soc/soc'), 'soc')), v1.soe);

      for (const c of Object.values(v1.circuits)) {
        const d = descOf(c.id);
        assert.equal(d.type, 'energy.ebus.device.circuit');
        assert.equal(d.name, c.name);
        assert.equal(d.nodes.switch!.properties.relay!.settable, c.isUserControllable);
        assert.equal(d.nodes['load-shed']!.properties.priority!.settable, !c.isNeverBackup);
        assert.equal(at(c.id, 'info/name'), c.name);
        assert.equal(at(c.id, 'info/spaces'), c.tabs.join(','));
        assert.equal(at(c.id, 'breaker/poles'), String(c.tabs.length));
        assert.equal(at(c.id, 'switch/relay'), c.relayState);
        assert.equal(at(c.id, 'switch/relay-controllable'), String(c.isUserControllable));
        assert.equal(at(c.id, 'load-shed/priority'), V2_PRIORITY[c.priority]);
        assert.equal(num(at(c.id, 'meter/active-power'), c.name), c.instantPowerW, `${c.name}: v1 sign`);
        assert.equal(num(at(c.id, 'meter/imported-energy'), c.name), c.producedEnergyWh);
        assert.equal(num(at(c.id, 'meter/exported-energy'), c.name), c.consumedEnergyWh);
        if (!c.isUserControllable) assert.equal(at(c.id, 'switch/relay-requester'), 'CONFIGURATION');
      }
    });

    it('switch/relay/set round trip on a circuit device; locked circuits ignore it', async () => {
      const r = await start('parent-child');
      const probe = await r.probe();
      const target = r.panel.state.circuits.find((c) => c.isUserControllable && c.relayState === 'CLOSED')!;
      const locked = r.panel.state.circuits.find((c) => !c.isUserControllable)!;
      await probe.subscribe([`ebus/5/${target.id}/switch/relay`, `ebus/5/${locked.id}/switch/relay`]);
      await probe.waitFor(() => probe.latest.get(`ebus/5/${target.id}/switch/relay`) === 'CLOSED');
      await probe.publish(`ebus/5/${locked.id}/switch/relay/set`, 'OPEN');
      await probe.publish(`ebus/5/${target.id}/switch/relay/set`, 'OPEN');
      await probe.waitFor(() => probe.latest.get(`ebus/5/${target.id}/switch/relay`) === 'OPEN');
      assert.deepEqual(probe.history(`ebus/5/${locked.id}/switch/relay`), ['CLOSED']);
      const v1 = await r.v1();
      assert.equal(v1.circuits[target.id]!.relayState, 'OPEN');
      assert.equal(v1.circuits[locked.id]!.relayState, 'CLOSED');

      const priority = `ebus/5/${target.id}/load-shed/priority`;
      await probe.subscribe(priority);
      await probe.publish(`${priority}/set`, 'SOC_THRESHOLD');
      await probe.waitFor(() => probe.latest.get(priority) === 'SOC_THRESHOLD');
      assert.equal((await r.v1()).circuits[target.id]!.priority, 'NICE_TO_HAVE');
    });
  });

  describe('broker access control', () => {
    it('refuses a wrong password, a wrong username and a password never handed out (CONNACK 5)', async () => {
      const r = await start('flat');
      const attempts = [
        { username: r.serial, password: 'wrong-password' },
        { username: 'not-the-serial', password: r.credentials.password },
        { username: r.serial, password: '' },
      ];
      for (const creds of attempts) {
        await assert.rejects(r.probe(creds), (err: Error & { code?: number }) => {
          assert.equal(err.code, 5, `not authorized: ${err.message}`);
          return true;
        });
      }
      assert.equal(r.v2.broker.authFailures, 3);
      const ok = await r.probe();
      assert.ok(ok.connected);
    });

    it('a publish outside …/set (e.g. $state) is refused, recorded, and leaves the tree intact', async () => {
      const r = await start('flat');
      const observer = await r.probe();
      const stateTopic = `ebus/5/${r.serial}/$state`;
      await observer.subscribe(stateTopic);
      await observer.waitFor(() => observer.latest.get(stateTopic) === 'ready');

      const rogue = await r.probe();
      const closed = rogue.waitForClose();
      rogue.publish(stateTopic, 'lost', { retain: true, qos: 0 }).catch(() => undefined);
      await closed;
      assert.deepEqual(
        r.v2.broker.violations.map((v) => ({ kind: v.kind, topic: v.topic, retain: v.retain })),
        [{ kind: 'publish', topic: stateTopic, retain: true }],
      );
      const fresh = await r.probe();
      await fresh.subscribe(stateTopic);
      await fresh.waitFor(() => fresh.latest.has(stateTopic));
      assert.equal(fresh.latest.get(stateTopic), 'ready', '$state was not poisoned');
      assert.deepEqual(observer.history(stateTopic), ['ready']);
    });

    it('records a will at CONNECT and never publishes it', async () => {
      const r = await start('flat');
      const stateTopic = `ebus/5/${r.serial}/$state`;
      const willing = await HomieProbe.connect({
        port: r.panel.ports.mqtt!,
        ca: r.ca,
        ...r.credentials,
        clientId: 'client-with-will',
        extra: { will: { topic: stateTopic, payload: Buffer.from('lost'), qos: 1, retain: true } },
      });
      r.probes.push(willing);
      assert.deepEqual(
        r.v2.broker.violations.map((v) => ({ kind: v.kind, topic: v.topic, clientId: v.clientId })),
        [{ kind: 'will', topic: stateTopic, clientId: 'client-with-will' }],
      );
      // An unclean disconnect would fire the will; the broker refuses to publish it.
      const observer = await r.probe();
      await observer.subscribe(stateTopic);
      await observer.waitFor(() => observer.latest.get(stateTopic) === 'ready');
      const clientsBefore = r.v2.broker.clientCount;
      willing.client.stream.destroy();
      await willing.waitForClose();
      // The broker decides about the will before it unregisters the client.
      await until(() => r.v2.broker.clientCount === clientsBefore - 1, 'the broker dropped the client');
      const after = await r.probe();
      await after.subscribe(stateTopic);
      await after.waitFor(() => after.latest.has(stateTopic));
      assert.equal(after.latest.get(stateTopic), 'ready');
      assert.deepEqual(observer.history(stateTopic), ['ready']);
    });

    it('a retained …/set is recorded and not kept by the broker', async () => {
      const r = await start('flat');
      const probe = await r.probe();
      const target = r.panel.state.circuits.find((c) => c.isUserControllable && c.relayState === 'CLOSED')!;
      const relay = `ebus/5/${r.serial}/${target.id}/relay`;
      await probe.subscribe(relay);
      await probe.publish(`${relay}/set`, 'OPEN', { retain: true });
      await probe.waitFor(() => probe.latest.get(relay) === 'OPEN');
      assert.deepEqual(
        r.v2.broker.violations.map((v) => v.kind),
        ['retained-set'],
      );
      const late = await r.probe();
      await late.subscribe(`${relay}/set`);
      await late.subscribe(relay); // the SUBACK of a later subscription orders after any retained delivery
      await late.waitFor(() => late.latest.has(relay));
      assert.equal(late.latest.has(`${relay}/set`), false, 'no retained command');
    });
  });
});
