/**
 * span-status: one message per panel health transition (online → degraded → offline → online…), and
 * optionally the current state once flows have started. The message payload is the HealthEvent itself; a
 * panel event (its CA certificate changed) is the current HealthEvent plus `event` and its details.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { HealthEvent } from '../src/supervisor/types';
import { attachToPanel } from './lib/attach';
import type { PanelConfigNode } from './lib/panel-types';

interface SpanStatusDef extends NodeDef {
  panel?: string;
  topic?: string;
  /** Also send the state the panel is in when flows start. */
  initial?: boolean;
}

export = function (RED: NodeAPI): void {
  function SpanStatusNode(this: Node, def: SpanStatusDef): void {
    RED.nodes.createNode(this, def);
    setupStatus(this, def);
  }

  function setupStatus(node: Node, def: SpanStatusDef): void {
    const message = (p: PanelConfigNode, health: HealthEvent, initial: boolean): NodeMessage => {
      const msg: NodeMessage & { initial?: boolean } = {
        topic: def.topic || p.latest?.snapshot.panel.serial || p.panelLabel,
        payload: { ...health },
      };
      if (initial) msg.initial = true;
      return msg;
    };

    // Assigned after registration: the first health event arrives while attachToPanel() is still running.
    let panel: PanelConfigNode | null = null;
    panel = attachToPanel(RED, node, def.panel, RED._('span-status.status.noPanel'), {
      onHealth: (health) => {
        // Same-state updates only move the retry time; the start of a connection is not a transition
        // of the panel (the optional initial message reports it instead).
        if (!health.transition || health.previous === null || health.previous === 'stopped') return;
        if (panel) node.send(message(panel, health, false));
      },
      onEvent: (event, health) => {
        // Not a state change, but something to act on (a CA change): the health as it is, plus the event.
        if (!panel) return;
        node.send({
          topic: def.topic || panel.latest?.snapshot.panel.serial || panel.panelLabel,
          payload: {
            ...(health ?? {}),
            transition: false,
            reason: event.reason,
            event: event.event,
            ca: event.ca,
          },
        });
      },
    });

    const attached = panel;
    if (attached && def.initial) {
      // Downstream nodes may not exist yet while flows are starting: wait for the runtime to finish.
      const sendInitial = () => {
        const health = attached.health;
        if (health) node.send(message(attached, health, true));
      };
      RED.events.once('flows:started', sendInitial);
      node.on('close', () => {
        RED.events.removeListener('flows:started', sendInitial);
      });
    }
  }

  RED.nodes.registerType('span-status', SpanStatusNode);
};
