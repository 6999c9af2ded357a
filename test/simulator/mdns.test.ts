/**
 * mDNS discovery against simulated panels that announce themselves (over the machine's own multicast
 * loopback, on a private UDP port so nothing else on the network is involved).
 */
import assert from 'node:assert/strict';
import { discoverPanels } from '../../src/discovery/mdns';
import { SimulatedPanel } from '../../simulator/panel';
import { createV2Plugin } from '../../simulator/v2';
import { freeUdpPort } from '../helpers/udp-port';

describe('mDNS: finding panels on the local network', function () {
  this.timeout(20_000);
  const started: SimulatedPanel[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((p) => p.close()));
  });

  it('finds a v2 and a v1-only panel with serial, host and API generation, within the time bound', async () => {
    const port = await freeUdpPort();
    const v2 = await SimulatedPanel.start({
      controlPort: null,
      tickMs: 0,
      plugins: [createV2Plugin({ dataModel: 'flat', passphrase: 'x' })],
      serial: 'nj-2316-V2AA',
      mdns: { port },
    });
    started.push(v2);
    const v1 = await SimulatedPanel.start({
      controlPort: null,
      tickMs: 0,
      serial: 'nj-2316-V1BB',
      mdns: { port },
    });
    started.push(v1);
    const t0 = Date.now();
    const found = await discoverPanels({ timeoutMs: 1500, port });
    const took = Date.now() - t0;
    assert.ok(took >= 1400 && took < 3000, `answered in ${took} ms`);
    const a = found.find((p) => p.serial === v2.state.identity.serial);
    const b = found.find((p) => p.serial === v1.state.identity.serial);
    assert.deepEqual(a && { host: a.host, api: a.api, mqttPort: a.mqttPort }, {
      host: `127.0.0.1:${v2.ports.http}`,
      api: 'v2',
      mqttPort: v2.ports.mqtt,
    });
    assert.deepEqual(a!.services, ['_ebus._tcp.local', '_secure-mqtt._tcp.local', '_span._tcp.local']);
    assert.deepEqual(b && { host: b.host, api: b.api, mqttPort: b.mqttPort }, {
      host: `127.0.0.1:${v1.ports.http}`,
      api: 'v1',
      mqttPort: null,
    });
  });

  it('finds nothing (an empty list, no error) when no panel announces itself, and can be cancelled', async () => {
    const port = await freeUdpPort();
    assert.deepEqual(await discoverPanels({ timeoutMs: 600, port }), []);
    const abort = new AbortController();
    const p = discoverPanels({ timeoutMs: 10_000, port, signal: abort.signal });
    setTimeout(() => abort.abort(), 100);
    await assert.rejects(p, /cancelled/);
  });
});
