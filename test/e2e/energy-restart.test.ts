/**
 * The energy guard survives a Node-RED restart: a real Node-RED (child process) with a persistent
 * (localfilesystem) context store runs a span-poll on the simulated panel, is stopped, the panel reboots
 * with lower lifetime counters while Node-RED is down (SPAN #87), and a second Node-RED on the same
 * context directory must never emit a lower value: the counters are restored before the first snapshot.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { SimulatedPanel } from '../../simulator';
import {
  assertBuilt,
  hostOf,
  NodeRed,
  startPanel,
  tempDir,
  TOKEN,
  type FlowNode,
  type NodeRedOptions,
} from './harness';

/* eslint-disable @typescript-eslint/no-explicit-any */

const DIP_WH = 50_000;

describe('energy counters across a Node-RED restart (persistent context store)', function () {
  this.timeout(90_000);
  let panel: SimulatedPanel | null = null;
  let nr: NodeRed | null = null;
  let contextDir: string | null = null;

  before(() => assertBuilt());
  afterEach(async () => {
    await nr?.stop();
    nr = null;
    await panel?.close();
    panel = null;
    if (contextDir) fs.rmSync(contextDir, { recursive: true, force: true });
    contextDir = null;
  });

  const flows = (host: string): FlowNode[] => [
    { id: 'tab', type: 'tab', label: 'energy' },
    { id: 'cfg', type: 'span-panel', name: '', host, api: 'v1', interval: '0.5', mqttPort: '8883' },
    { id: 'poll', type: 'span-poll', z: 'tab', panel: 'cfg', wires: [['sink']] },
    // A debug node that logs nothing: the harness observes what reaches it.
    { id: 'sink', type: 'debug', z: 'tab', active: false, tosidebar: false, console: false, wires: [] },
  ];

  async function start(host: string, dir: string): Promise<NodeRed> {
    const opts: NodeRedOptions = {
      flows: flows(host),
      credentials: { cfg: { token: TOKEN } },
      settings: {
        contextStorage: { default: { module: 'localfilesystem', config: { dir, flushInterval: 1 } } },
      },
    };
    return NodeRed.start(opts);
  }

  it('restores the guard before the first value: a counter that dropped while Node-RED was down is held', async () => {
    panel = await startPanel();
    contextDir = tempDir('context');
    const circuit = panel.state.circuits.find((c) => c.consumedEnergyWh > DIP_WH * 2)!;

    nr = await start(hostOf(panel), contextDir);
    const first = await nr.waitForDelivery('sink', () => true, 'a snapshot before the restart', 30_000);
    const before = {
      main: first.msg.payload.panel.mainMeterEnergy.consumedEnergyWh as number,
      circuit: first.msg.payload.circuits[circuit.id].consumedEnergyWh as number,
    };
    // Let at least one more snapshot through so the stored state is the latest, then stop Node-RED.
    await nr.waitForDelivery('sink', (d) => d !== first, 'a second snapshot', 30_000);
    const lastBefore = nr.deliveredTo('sink').at(-1)!.msg.payload;
    await nr.stop();
    nr = null;

    panel.state.reboot({ counterDipWh: DIP_WH });
    assert.ok(panel.state.mains.mainMeterEnergy.consumedEnergyWh < before.main, 'the panel now reports less');

    nr = await start(hostOf(panel), contextDir);
    const after = await nr.waitForDelivery(
      'sink',
      () => true,
      'the first snapshot after the restart',
      30_000,
    );
    const p = after.msg.payload;
    assert.ok(
      p.panel.mainMeterEnergy.consumedEnergyWh >= lastBefore.panel.mainMeterEnergy.consumedEnergyWh,
      `main meter held: ${p.panel.mainMeterEnergy.consumedEnergyWh} ≥ ${lastBefore.panel.mainMeterEnergy.consumedEnergyWh}`,
    );
    assert.ok(
      p.circuits[circuit.id].consumedEnergyWh >= lastBefore.circuits[circuit.id].consumedEnergyWh,
      'circuit counter held',
    );
    assert.ok(
      p.energyRegressions.some((r: any) => r.counter === 'main.consumed' && r.action === 'held'),
      'the drop is reported, not hidden',
    );
    // And it stays held for every later snapshot too.
    await nr.waitForDelivery('sink', (d) => d !== after, 'another snapshot', 30_000);
    for (const d of nr.deliveredTo('sink')) {
      assert.ok(d.msg.payload.panel.mainMeterEnergy.consumedEnergyWh >= before.main);
    }
  });
});
