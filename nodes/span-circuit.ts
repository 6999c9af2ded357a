/**
 * span-circuit: one circuit's power (or all circuits, one message each) every interval; input switches the
 * circuit's relay and/or sets its shed priority.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow, NodeStatus } from 'node-red';
import type { Circuit } from '../src/model/panel';
import type { CommandOutcome } from '../src/transport/transport';
import { isPanelError } from '../src/transport/errors';
import { asError, attachToPanel } from './lib/attach';
import { parseCircuitCommand } from './lib/circuit-command';
import { circuitStatus } from './lib/circuit-status';
import { circuitMessage, fingerprint, freshness, selectCircuits, type CircuitOutput } from './lib/messages';
import type { PanelConfigNode } from './lib/panel-types';

interface SpanCircuitDef extends NodeDef {
  panel?: string;
  /** A circuit id, or "all". */
  circuit?: string;
  output?: string;
  onlyOnChange?: boolean;
}

const OUTPUTS: readonly CircuitOutput[] = ['power', 'ha-power', 'ha-energy'];
const REFUSED_SHOWN_MS = 10_000;

export = function (RED: NodeAPI): void {
  function SpanCircuitNode(this: Node, def: SpanCircuitDef): void {
    RED.nodes.createNode(this, def);
    setupCircuit(this, def);
  }

  function setupCircuit(node: Node, def: SpanCircuitDef): void {
    const circuitId = (def.circuit ?? '').trim();
    const output: CircuitOutput = OUTPUTS.includes(def.output as CircuitOutput)
      ? (def.output as CircuitOutput)
      : 'power';
    const lastSent = new Map<string, string>();
    let panelStatus: NodeStatus | null = null;
    let circuitMissing = false;
    /** The watched circuit as last reported, and until when a refused command stays on show. */
    let watched: Circuit | null = null;
    let refusedUntil = 0;
    let panel: PanelConfigNode | null = null;

    /** One circuit: its own state in the panel's colour; "all": the panel's status (grid power). */
    const render = () => {
      if (!panelStatus || circuitMissing) return;
      if (circuitId === 'all') return node.status(panelStatus);
      const t = (key: string, params?: Record<string, string>) => RED._(`span-circuit.status.${key}`, params);
      const refused = Date.now() < refusedUntil;
      node.status(circuitStatus(panelStatus, panel?.health ?? null, watched, refused, t));
    };

    const showPanelStatus = (status: NodeStatus) => {
      panelStatus = status;
      render();
    };

    const setCircuitMissing = (missing: boolean) => {
      if (missing === circuitMissing) return;
      circuitMissing = missing;
      if (missing) {
        node.warn(RED._('span-circuit.errors.circuitNotFound', { circuit: circuitId }));
        node.status({ fill: 'red', shape: 'dot', text: RED._('span-circuit.status.notFound') });
      } else {
        render();
      }
    };

    if (!circuitId)
      node.status({ fill: 'grey', shape: 'ring', text: RED._('span-circuit.status.noCircuit') });

    panel = circuitId
      ? attachToPanel(RED, node, def.panel, RED._('span-circuit.status.noPanel'), {
          showStatus: showPanelStatus,
          onData: (data, health) => {
            const circuits = selectCircuits(data.snapshot, circuitId);
            setCircuitMissing(circuitId !== 'all' && circuits.length === 0);
            if (circuitId !== 'all') {
              watched = circuits[0] ?? null;
              render();
            }
            const fresh = freshness(health, data);
            // A circuit the panel dropped is forgotten (the cache never outgrows the panel).
            if (lastSent.size > circuits.length) {
              const current = new Set(circuits.map((c) => c.id));
              for (const id of lastSent.keys()) if (!current.has(id)) lastSent.delete(id);
            }
            for (const c of circuits) {
              const m = circuitMessage(c, output, data.snapshot.panel.serial);
              if (!m) continue;
              const fp = fingerprint(m.payload, fresh?.stale ?? false);
              if (def.onlyOnChange && lastSent.get(c.id) === fp) continue;
              lastSent.set(c.id, fp);
              node.send({ ...m, ...(fresh ?? {}) } as NodeMessage);
            }
          },
        })
      : null;

    node.on('input', (msg, _send, done) => {
      runCommand(panel, msg).then(
        () => done(),
        (e: unknown) => done(asError(e)),
      );
    });

    async function runCommand(p: PanelConfigNode | null, msg: NodeMessageInFlow): Promise<void> {
      if (!circuitId || circuitId === 'all') throw new Error(RED._('span-circuit.errors.selectCircuit'));
      if (!p) throw new Error(RED._('span-circuit.errors.noPanel'));
      const cmd = parseCircuitCommand(
        msg as { payload?: unknown; priority?: unknown; chargeCurrentA?: unknown },
      );
      // msg.command says what was asked and what became of it, also for a Catch node.
      const record: Record<string, unknown> = { circuitId };
      (msg as Record<string, unknown>).command = record;
      if (cmd.relay) await send(record, 'relay', cmd.relay, () => p.setRelay(circuitId, cmd.relay!));
      if (cmd.priority) {
        await send(record, 'priority', cmd.priority, () => p.setPriority(circuitId, cmd.priority!));
      }
      if (cmd.chargeCurrentA !== null) {
        const amps = cmd.chargeCurrentA;
        await send(record, 'chargeCurrent', String(amps), () => p.setChargeCurrent(circuitId, amps));
      }
    }

    /** "refused" stays on show for a few seconds (data updates keep it), then the circuit again. */
    function showRefused(): void {
      refusedUntil = Date.now() + REFUSED_SHOWN_MS;
      render();
    }

    /** Runs one command; a refused or unconfirmed outcome becomes an Error (so Catch nodes see it). */
    async function send(
      record: Record<string, unknown>,
      what: 'relay' | 'priority' | 'chargeCurrent',
      requested: string,
      run: () => Promise<CommandOutcome>,
    ): Promise<void> {
      let outcome: CommandOutcome;
      try {
        outcome = await run();
      } catch (e) {
        const errorClass = isPanelError(e) ? e.errorClass : 'unknown';
        record[what] = { result: 'refused', requested, errorClass };
        showRefused();
        throw new Error(
          RED._('span-circuit.errors.refused', { what, requested, reason: asError(e).message }),
        );
      }
      record[what] = outcome;
      if (outcome.result !== 'confirmed') {
        showRefused();
        throw new Error(
          RED._('span-circuit.errors.unconfirmed', {
            what,
            requested,
            observed: outcome.observed ?? '?',
            note: outcome.note ? ` (${outcome.note})` : '',
          }),
        );
      }
    }
  }

  RED.nodes.registerType('span-circuit', SpanCircuitNode);
};
