/**
 * Everything the panel knows, as span-poll delivers it: the simulated panel in each data model (v1 REST,
 * v2 flat, v2 parent/child), every field of the README's field table checked for unit and sign against
 * the simulated panel's own state, and null on v1 where v1 has no source. Then the EV charger's
 * charge-current ceiling set from span-circuit (confirmed by the panel's republished value; out of range
 * refused through Catch with nothing published), and span-circuit's status showing its own circuit.
 */
import assert from 'node:assert/strict';
import { NO_IDENTITY } from '../../src/model/panel';
import type { SimulatedPanel } from '../../simulator/panel';
import { EVSE, PV } from '../../simulator/v2/der';
import { BESS, PANEL_STATIC, powerFlows } from '../../simulator/v2/sim-homie-common';
import { createV2Plugin, type SimDataModel, type V2Plugin } from '../../simulator/v2';
import {
  flow,
  helper,
  hostOf,
  panelConfig,
  Panels,
  PASSPHRASE,
  Recorder,
  spanNodes,
  StatusLog,
  TOKEN,
  useNodeRed,
  waitFor,
} from './support';

/* eslint-disable @typescript-eslint/no-explicit-any */

const close = (a: number | null, b: number, what: string, tol = 1e-6) =>
  assert.ok(a !== null && Math.abs(a - b) <= tol, `${what}: ${a} ≈ ${b}`);

describe('the whole panel in span-poll, all three data models (real Node-RED, simulated panel)', function () {
  this.timeout(40000);
  useNodeRed();
  const panels = new Panels();
  afterEach(() => panels.closeAll());

  async function startV2(dataModel: SimDataModel): Promise<{ sim: SimulatedPanel; v2: V2Plugin }> {
    const v2 = createV2Plugin({ dataModel, passphrase: PASSPHRASE });
    const sim = await panels.start({ plugins: [v2] });
    return { sim, v2 };
  }

  const pollFlow = (cfg: Record<string, unknown>) =>
    flow(
      cfg,
      { id: 'poll', type: 'span-poll', panel: 'cfg', wires: [['out']] },
      { id: 'out', type: 'helper' },
    );

  /** The first snapshot with every retained value in (v2 values arrive after $description). */
  async function snapshot(complete: (p: any) => boolean): Promise<any> {
    const out = new Recorder('out');
    return (await out.next('a complete snapshot', (m) => complete(m.payload), 20000)).payload;
  }

  function checkCommon(p: any, sim: SimulatedPanel): void {
    const m = sim.state.mains;
    // Net energy = consumed − produced, from the guarded counters, for the main meter and every circuit.
    const main = p.panel.mainMeterEnergy;
    close(main.netEnergyWh, main.consumedEnergyWh - main.producedEnergyWh, 'main net');
    const feed = p.panel.feedthroughEnergy;
    close(feed.netEnergyWh, feed.consumedEnergyWh - feed.producedEnergyWh, 'feed-through net');
    for (const c of Object.values<any>(p.circuits)) {
      close(c.netEnergyWh, c.consumedEnergyWh - c.producedEnergyWh, `net of ${c.name}`);
    }
    assert.ok(main.consumedEnergyWh >= m.mainMeterEnergy.consumedEnergyWh - 1, 'main consumed = import');
    // Spaces without a circuit up to the panel size: 27, 28, 30, 32 on the captured MAIN 32.
    assert.equal(p.panel.panelSize, 32);
    assert.deepEqual(
      p.unmappedTabs.map((t: any) => t.tab),
      [27, 28, 30, 32],
    );
  }

  it('v1: identity, meters, net energy and unmapped tabs with their branch readings; null where v1 has no source', async () => {
    const sim = await panels.start();
    await helper.load(spanNodes, pollFlow(panelConfig('cfg', hostOf(sim))), { cfg: { token: TOKEN } });
    const p = await snapshot(() => true);
    checkCommon(p, sim);
    // Unmapped PV spaces backfeed: production is negative power here, energy in producedEnergyWh.
    const pvTab = p.unmappedTabs.find((t: any) => t.tab === 30);
    assert.ok(pvTab.powerW < 0 && pvTab.powerRawW > 0, 'PV space: production negative, raw positive');
    assert.ok(pvTab.producedEnergyWh > pvTab.consumedEnergyWh);
    close(pvTab.netEnergyWh, pvTab.consumedEnergyWh - pvTab.producedEnergyWh, 'tab net');
    // No source on v1: null, never 0.
    const panel = p.panel;
    for (const k of [
      'mainBreakerRatingA',
      'postalCode',
      'timeZone',
      'gridFormingEntity',
      'gridFormingEntityRaw',
      'gridIslandable',
      'powerFlows',
      'shedForecast',
    ]) {
      assert.equal(panel[k], null, `panel.${k}`);
    }
    assert.equal(panel.network.wifiSsid, null);
    assert.deepEqual(panel.upstreamLugs, { l1CurrentA: null, l2CurrentA: null });
    assert.deepEqual(panel.downstreamLugs, { l1CurrentA: null, l2CurrentA: null });
    for (const c of Object.values<any>(p.circuits)) {
      assert.equal(c.relayRequester, null);
      assert.equal(c.pcsManaged, null);
      assert.equal(c.pcsPriority, null);
    }
    assert.equal(p.pv, null);
    assert.equal(p.evse, null);
    assert.equal(p.battery.socPercent, sim.state.soePercent);
    assert.deepEqual(p.battery.identity, NO_IDENTITY);
    assert.equal(p.battery.nameplateCapacityKWh, null);
  });

  for (const dataModel of ['flat', 'parent-child'] as const) {
    it(`v2 ${dataModel}: lugs, panel facts, grid, circuits, battery, PV, EV charger, power flows in our signs`, async () => {
      const { sim } = await startV2(dataModel);
      await helper.load(
        spanNodes,
        pollFlow(panelConfig('cfg', hostOf(sim), { api: 'v2', mqttPort: String(sim.ports.mqtt) })),
        { cfg: { passphrase: PASSPHRASE } },
      );
      const p = await snapshot(
        (s) => s.evse?.status != null && s.panel.upstreamLugs.l1CurrentA !== null && s.pv?.powerW != null,
      );
      checkCommon(p, sim);
      const panel = p.panel;
      assert.equal(panel.mainBreakerRatingA, PANEL_STATIC.mainBreakerRatingA);
      assert.equal(panel.network.wifiSsid, sim.state.identity.wifiSsid);
      assert.equal(panel.postalCode, PANEL_STATIC.postalCode);
      assert.equal(panel.timeZone, PANEL_STATIC.timeZone);
      assert.equal(panel.gridFormingEntity, 'GRID');
      assert.equal(panel.gridFormingEntityRaw, 'GRID');
      assert.equal(panel.gridIslandable, true);
      // Lug currents in A: the grid power over both legs (the simulator's service-entrance model).
      const legA = Math.abs(p.panel.gridPowerW) / 2 / panel.l1VoltageV;
      close(panel.upstreamLugs.l1CurrentA, legA, 'upstream L1 current', 0.05);
      assert.ok(panel.downstreamLugs.l2CurrentA >= 0);
      // Power flows: sources positive while delivering, site positive while consuming; raw kept.
      const f = panel.powerFlows;
      assert.ok(f.pvW > 0, 'PV producing is positive');
      assert.equal(f.raw.pvW, -f.pvW);
      assert.equal(f.gridW, p.panel.gridPowerW === 0 ? 0 : f.gridW);
      close(f.gridW, panel.gridPowerW, 'grid flow = grid power (import positive)', 1e-6);
      close(f.gridW + f.pvW + f.batteryW, f.siteW, 'balance');
      assert.ok(f.siteW > 0, 'the site consumes');
      // Circuits: relay requester, PCS.
      const locked = Object.values<any>(p.circuits).find((c) => c.controllable === false);
      assert.equal(locked.relayRequester, dataModel === 'flat' ? 'ALWAYS_ON' : 'CONFIGURATION');
      for (const c of Object.values<any>(p.circuits)) {
        assert.equal(c.pcsManaged, false);
        assert.equal(c.pcsPriority, 0);
      }
      // Battery.
      const b = p.battery;
      assert.equal(b.identity.vendor, BESS.vendorName);
      assert.equal(b.identity.product, BESS.productName);
      assert.equal(b.identity.model, BESS.partNumber);
      assert.equal(b.identity.serial, BESS.serialNumber);
      assert.equal(b.identity.firmwareVersion, BESS.firmwareVersion);
      assert.equal(b.nameplateCapacityKWh, BESS.nameplateCapacityKWh);
      assert.equal(b.relativePosition, 'UPSTREAM');
      assert.equal(b.feed, null, 'upstream: landed on no circuit');
      assert.equal(b.powerW, -powerFlows(sim.state).battery || 0);
      // PV.
      assert.equal(p.pv.identity.vendor, PV.vendorName);
      assert.equal(p.pv.identity.product, PV.productName);
      assert.equal(p.pv.identity.serial, PV.serialNumber);
      assert.equal(p.pv.identity.firmwareVersion, PV.firmwareVersion);
      assert.equal(p.pv.nameplateCapacityW, PV.nameplateCapacityW);
      // Flat publishes the position; parent/child needs a connection record, which spaces 30/32 lack.
      assert.equal(p.pv.relativePosition, dataModel === 'flat' ? 'IN_PANEL' : null);
      assert.equal(p.pv.feed, null);
      close(p.pv.powerW, f.pvW, 'PV power = PV flow');
      // EV charger.
      const e = p.evse;
      assert.equal(e.identity.vendor, EVSE.vendorName);
      assert.equal(e.identity.product, EVSE.productName);
      assert.equal(e.identity.model, EVSE.partNumber);
      assert.equal(e.identity.serial, EVSE.serialNumber);
      assert.equal(e.identity.firmwareVersion, EVSE.firmwareVersion);
      assert.equal(e.feed, EVSE.circuitId);
      assert.equal(e.status, 'AVAILABLE');
      assert.equal(e.lockState, 'UNLOCKED');
      assert.equal(e.advertisedCurrentA, EVSE.defaultUserMaxA);
      if (dataModel === 'parent-child') {
        assert.equal(e.maxChargeCurrentA, EVSE.maxChargeCurrentA);
        assert.equal(e.userMaxChargeCurrentA, EVSE.defaultUserMaxA);
        assert.equal(e.chargeCurrentSettable, true);
        assert.equal(panel.shedForecast.confidence, 'MEDIUM');
        assert.ok(panel.shedForecast.totalTimeRemainingMin > panel.shedForecast.timeToPriorityShedMin);
        assert.ok(
          panel.shedForecast.fullChargeTotalTimeRemainingMin >= panel.shedForecast.totalTimeRemainingMin,
        );
      } else {
        // r202603 flat firmware has neither the ceiling nor a forecast.
        assert.equal(e.userMaxChargeCurrentA, null);
        assert.equal(e.chargeCurrentSettable, false);
        assert.equal(panel.shedForecast, null);
      }
      // v2 has no per-space readings: unmapped tabs are listed, their values unknown.
      assert.ok(p.unmappedTabs.every((t: any) => t.powerW === null && t.consumedEnergyWh === null));
    });
  }

  it('sets the EV charger ceiling from span-circuit (confirmed); out of range is refused through Catch, nothing published', async () => {
    const { sim, v2 } = await startV2('parent-child');
    await helper.load(
      spanNodes,
      flow(
        panelConfig('cfg', hostOf(sim), { api: 'v2', interval: '0.5', mqttPort: String(sim.ports.mqtt) }),
        { id: 'ev', type: 'span-circuit', panel: 'cfg', circuit: EVSE.circuitId, wires: [['evOut']] },
        { id: 'evOut', type: 'helper' },
        { id: 'catcher', type: 'catch', scope: ['ev'], uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
        { id: 'completer', type: 'complete', scope: ['ev'], uncaught: false, wires: [['completed']] },
        { id: 'completed', type: 'helper' },
      ),
      { cfg: { passphrase: PASSPHRASE } },
    );
    await new Recorder('evOut').next('EV circuit data', () => true, 20000);
    const completed = new Recorder('completed');
    const caught = new Recorder('caught');
    const evse = () => helper.getNode('cfg').latest?.snapshot.evse;

    helper.getNode('ev').receive({ chargeCurrentA: 16 });
    const done = await completed.next('confirmed command', () => true, 10000);
    assert.equal(done.command.chargeCurrent.result, 'confirmed');
    assert.equal(done.command.chargeCurrent.observed, '16');
    assert.deepEqual(
      v2.commandLog.map((r) => [r.payload, r.outcome]),
      [['16', 'applied']],
    );
    await waitFor('the new ceiling in the snapshot', () => evse()?.userMaxChargeCurrentA === 16);

    const status = new StatusLog(helper.getNode('ev'));
    for (const bad of [5, EVSE.maxChargeCurrentA + 1]) {
      helper.getNode('ev').receive({ chargeCurrentA: bad });
      const err = await caught.next(
        `refusal of ${bad} A`,
        (m) => m.command?.chargeCurrent?.requested === String(bad),
      );
      assert.match(err.error.message, /outside 6…40 A/);
      assert.equal(err.command.chargeCurrent.result, 'refused');
    }
    helper.getNode('ev').receive({ chargeCurrentA: '7.5' });
    const notInt = await caught.next('non-integer refusal', (m) =>
      /whole number of amps/.test(m.error.message),
    );
    assert.ok(notInt);
    assert.equal(v2.commandLog.length, 1, 'nothing published for a refused value');
    await status.waitFor('refused status', (s) => s.text === 'refused');

    // A circuit that feeds no charger refuses too.
    const other = sim.state.circuits.find((c) => c.isUserControllable && c.id !== EVSE.circuitId)!;
    await assert.rejects(
      helper.getNode('cfg').setChargeCurrent(other.id, 16),
      /does not feed the EV charger/,
    );
  });

  it('span-circuit shows its own circuit (on · power / off) in the panel colour; span-poll keeps the grid figure', async () => {
    const sim = await panels.start();
    const c = sim.state.circuits.find((x) => x.isUserControllable && x.instantPowerW < -100)!;
    await helper.load(
      spanNodes,
      flow(
        panelConfig('cfg', hostOf(sim)),
        { id: 'poll', type: 'span-poll', panel: 'cfg', wires: [[]] },
        { id: 'circ', type: 'span-circuit', panel: 'cfg', circuit: c.id, wires: [[]] },
      ),
      { cfg: { token: TOKEN } },
    );
    const circ = new StatusLog(helper.getNode('circ'));
    const poll = new StatusLog(helper.getNode('poll'));
    sim.state.tick(); // new readings, so the panel status is shown again
    const on = await circ.waitFor('circuit on', (s) => /^on · /.test(s.text ?? ''));
    assert.equal(on.fill, 'green');
    assert.match(on.text!, /^on · \d+ W$/, 'consumption positive, in W');
    const pollStatus = await poll.waitFor('legacy panel status', (s) => /^legacy API · /.test(s.text ?? ''));
    assert.equal(pollStatus.fill, 'green');
    sim.state.setRelay(c.id, 'OPEN');
    const off = await circ.waitFor('circuit off', (s) => s.text === 'off');
    assert.equal(off.fill, 'green');
    assert.equal(off.shape, 'ring', 'the legacy (v1) panel colour');
  });
});
