/**
 * span-ha: every value of a panel as Home Assistant entities, through node-red-contrib-home-assistant-
 * websocket's API node (one state write per message), and relay switches toggled from Home Assistant
 * (its "events: all" node on `call_service` wired into the input). Only changed entities are written.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { DataEvent, HealthEvent } from '../src/supervisor/types';
import { isPanelError } from '../src/transport/errors';
import { asError, attachToPanel } from './lib/attach';
import { panelEntities, type EnergyUnit, type HaEntity } from './lib/ha-entities';
import { parseHaInput, requestedRelay, type RelayService } from './lib/ha-input';
import type { PanelConfigNode } from './lib/panel-types';

interface SpanHaDef extends NodeDef {
  panel?: string;
  energyUnit?: string;
  relays?: boolean;
}

/** Without a word from Home Assistant's connection, start writing after this long anyway. */
const START_ANYWAY_MS = 15_000;

export = function (RED: NodeAPI): void {
  function SpanHaNode(this: Node, def: SpanHaDef): void {
    RED.nodes.createNode(this, def);
    setupHa(this, def);
  }

  function setupHa(node: Node, def: SpanHaDef): void {
    const energyUnit: EnergyUnit = def.energyUnit === 'Wh' ? 'Wh' : 'kWh';
    const relays = def.relays !== false;
    /** entity id → what was last written (state + attributes), so only changes are written. */
    const written = new Map<string, string>();
    /** The entities of the latest snapshot, by id. */
    let current = new Map<string, HaEntity>();
    /** circuit id → what became of the last command from Home Assistant (shown as an attribute). */
    const lastCommand = new Map<string, string>();
    // Writes wait for Home Assistant's connection: "ready" from the events node, or START_ANYWAY_MS.
    let linkUp = false;
    let panelDown = false;
    let startTimer: NodeJS.Timeout | null = setTimeout(() => setLink(true), START_ANYWAY_MS);

    const write = (e: HaEntity, state = e.state) => {
      const attributes = { ...e.attributes };
      if (e.circuitId && lastCommand.has(e.circuitId))
        attributes.last_command = lastCommand.get(e.circuitId)!;
      const fp = `${state}|${JSON.stringify(attributes)}`;
      if (written.get(e.entityId) === fp) return;
      written.set(e.entityId, fp);
      node.send({
        topic: e.entityId,
        payload: {
          protocol: 'http',
          method: 'post',
          path: `states/${e.entityId}`,
          data: { state, attributes },
        },
      } as NodeMessage);
    };

    const writeAll = () => {
      if (!linkUp) return;
      for (const e of current.values()) write(e, panelDown ? 'unavailable' : e.state);
    };

    function setLink(up: boolean): void {
      if (startTimer) clearTimeout(startTimer);
      startTimer = null;
      linkUp = up;
      // Home Assistant forgets states written over REST when it restarts: after a reconnect, write all.
      written.clear();
      writeAll();
    }

    const panel = attachToPanel(RED, node, def.panel, RED._('span-ha.status.noPanel'), {
      onData: (data: DataEvent) => {
        if (data.stale) return; // the last good values are already in Home Assistant
        current = new Map(panelEntities(data.snapshot, { energyUnit, relays }).map((e) => [e.entityId, e]));
        panelDown = false;
        writeAll();
      },
      onHealth: (h: HealthEvent) => {
        // Offline or rejected: the entities become unavailable rather than frozen at old values.
        const down = h.state === 'offline' || h.state === 'auth-failed';
        if (down === panelDown || !down) return;
        panelDown = true;
        writeAll();
      },
    });

    node.on('input', (msg, _send, done) => {
      const input = parseHaInput(msg as Record<string, unknown>);
      if (input.kind === 'connection') {
        if (input.event === 'ready' || input.event === 'running') setLink(true);
        else if (input.event === 'disconnected' || input.event === 'error') setLink(false);
        done();
      } else if (input.kind === 'resend') {
        written.clear();
        writeAll();
        done();
      } else if (input.kind === 'ignored-service') {
        done();
      } else {
        switchRelays(panel, input.service, input.entityIds).then(
          () => done(),
          (e: unknown) => done(asError(e)),
        );
      }
    });

    node.on('close', () => {
      if (startTimer) clearTimeout(startTimer);
      startTimer = null;
    });

    /** Runs the relay commands of one service call in turn; the first refusal is reported. */
    async function switchRelays(
      p: PanelConfigNode | null,
      service: RelayService,
      entityIds: string[],
    ): Promise<void> {
      const targets = entityIds.map((id) => current.get(id)).filter((e) => e?.circuitId) as HaEntity[];
      if (targets.length === 0) return; // another integration's switch
      if (!p) throw new Error(RED._('span-ha.errors.noPanel'));
      let failure: Error | null = null;
      for (const e of targets) {
        const circuitId = e.circuitId!;
        const relay = requestedRelay(service, e.state === 'on' ? 'CLOSED' : 'OPEN');
        try {
          const outcome = await p.setRelay(circuitId, relay);
          if (outcome.result !== 'confirmed')
            throw new Error(`not confirmed, the panel reports ${outcome.observed ?? '?'}`);
          lastCommand.set(circuitId, `${service} confirmed`);
          current.set(e.entityId, { ...e, state: relay === 'CLOSED' ? 'on' : 'off' });
        } catch (err) {
          const reason = asError(err).message;
          const errorClass = isPanelError(err) ? ` (${err.errorClass})` : '';
          lastCommand.set(circuitId, `${service} refused: ${reason}${errorClass}`);
          failure ??= new Error(RED._('span-ha.errors.refused', { entity: e.entityId, service, reason }));
        }
        // The switch shows the outcome at once (a refused toggle flips back in Home Assistant's UI).
        const latest = current.get(e.entityId);
        if (latest && linkUp) write(latest, panelDown ? 'unavailable' : latest.state);
      }
      if (failure) throw failure;
    }
  }

  RED.nodes.registerType('span-ha', SpanHaNode);
};
