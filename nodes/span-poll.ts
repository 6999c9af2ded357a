/**
 * span-poll: the whole panel as one message, every interval and on any input (a fresh read).
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { DataEvent, HealthEvent } from '../src/supervisor/types';
import { asError, attachToPanel } from './lib/attach';
import { fingerprint, freshness, pollPayload, type PollInclude } from './lib/messages';

interface SpanPollDef extends NodeDef {
  panel?: string;
  topic?: string;
  onlyOnChange?: boolean;
  includePanel?: boolean;
  includeCircuits?: boolean;
  includeBattery?: boolean;
}

export = function (RED: NodeAPI): void {
  function SpanPollNode(this: Node, def: SpanPollDef): void {
    RED.nodes.createNode(this, def);
    setupPoll(this, def);
  }

  function setupPoll(node: Node, def: SpanPollDef): void {
    const include: PollInclude = {
      panel: def.includePanel !== false,
      circuits: def.includeCircuits !== false,
      battery: def.includeBattery !== false,
    };
    let lastFingerprint: string | null = null;

    const build = (data: DataEvent, health: HealthEvent | null) => {
      const payload = pollPayload(data.snapshot, include);
      const fresh = freshness(health, data);
      const props: Record<string, unknown> = {
        topic: def.topic || data.snapshot.panel.serial,
        payload,
      };
      if (fresh) Object.assign(props, fresh);
      return { props, fp: fingerprint(payload, fresh?.stale ?? false) };
    };

    const panel = attachToPanel(RED, node, def.panel, RED._('span-poll.status.noPanel'), {
      onData: (data, health) => {
        const { props, fp } = build(data, health);
        if (def.onlyOnChange && fp === lastFingerprint) return;
        lastFingerprint = fp;
        node.send(props as NodeMessage);
      },
    });

    node.on('input', (msg, send, done) => {
      if (!panel) {
        done(new Error(RED._('span-poll.errors.noPanel')));
        return;
      }
      panel.refresh().then(
        (data) => {
          const { props, fp } = build(data, panel.health);
          lastFingerprint = fp;
          // Reuse the incoming message: only the properties this node owns change.
          Object.assign(msg, props);
          send(msg);
          done();
        },
        (e: unknown) => done(asError(e)),
      );
    });
  }

  RED.nodes.registerType('span-poll', SpanPollNode);
};
