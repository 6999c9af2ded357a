/**
 * Connects a user node to its span-panel config node: registers on construction, deregisters on close
 * (the config node stops the panel connection when its last user leaves).
 */
import type { Node, NodeAPI } from 'node-red';
import { isPanelConfigNode, type PanelConfigNode, type PanelUser } from './panel-types';

export function attachToPanel(
  RED: NodeAPI,
  node: Node,
  panelId: string | undefined,
  noPanelText: string,
  handlers: Omit<PanelUser, 'node'>,
): PanelConfigNode | null {
  const panel = panelId ? RED.nodes.getNode(panelId) : null;
  if (!isPanelConfigNode(panel)) {
    node.status({ fill: 'red', shape: 'ring', text: noPanelText });
    return null;
  }
  const user: PanelUser = { node, ...handlers };
  panel.register(user);
  node.on('close', (_removed: boolean, done: () => void) => {
    panel.deregister(user, done);
  });
  return panel;
}

/** Node-RED's Catch node shows `msg.error.message`: make sure whatever was thrown is an Error. */
export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
