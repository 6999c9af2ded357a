/**
 * span-panel: the config node. Owns one panel connection (supervisor) shared by every node that uses it,
 * and pushes the panel's health to all of them as node status (config nodes have no status of their own).
 */
import type { Node, NodeAPI, NodeStatus } from 'node-red';
import { createPanelSupervisor } from '../src/connection';
import type { Logger } from '../src/supervisor/types';
import { registerAdminEndpoints } from './admin';
import { registerDiagnosticsEndpoint } from './admin-diagnostics';
import { registerDiscoveryEndpoint } from './admin-discovery';
import { diagnosticsInput } from './lib/diagnostics-input';
import { nodeCredentialStore } from './lib/credential-store';
import type { StatusSpec } from './lib/health-status';
import { resolvePanelConfig } from './lib/panel-config';
import { PanelHub } from './lib/panel-hub';
import type { PanelConfigNode, SpanPanelCredentials, SpanPanelDef } from './lib/panel-types';

export = function (RED: NodeAPI): void {
  function SpanPanelNode(this: Node<SpanPanelCredentials>, def: SpanPanelDef): void {
    RED.nodes.createNode(this, def);
    setupPanel(this, def);
  }

  function setupPanel(node: Node<SpanPanelCredentials>, def: SpanPanelDef): void {
    const logger: Logger = {
      debug: (m) => node.debug(m),
      info: (m) => node.log(m),
      warn: (m) => node.warn(m),
      error: (m) => node.error(m),
    };
    const resolved = resolvePanelConfig(def, node.credentials, (name) => RED.util.getSetting(node, name));
    const configError = resolved.ok ? null : resolved.error;
    if (configError) node.error(`SPAN panel configuration: ${configError}`);

    const hub = new PanelHub({
      configError,
      createSupervisor: resolved.ok
        ? () =>
            createPanelSupervisor(
              {
                ...resolved.config,
                credentialStore: nodeCredentialStore(RED, node.id, resolved.config.host, logger.warn),
              },
              logger,
            )
        : null,
      toNodeStatus: (spec: StatusSpec): NodeStatus => ({
        fill: spec.fill,
        shape: spec.shape,
        text: RED._(`span-panel.status.${spec.key}`, spec.params),
      }),
      reportError: (m) => node.error(m),
    });

    const api: Omit<PanelConfigNode, keyof Node> = {
      panelLabel: def.name || (resolved.ok ? resolved.config.host : 'SPAN panel'),
      resolvedHost: resolved.ok ? resolved.config.host : null,
      api: resolved.ok ? resolved.config.api : 'auto',
      configError,
      get health() {
        return hub.health;
      },
      get latest() {
        return hub.latest;
      },
      get supervisorSubscriptions() {
        return hub.subscriptions;
      },
      register: (user) => hub.register(user),
      deregister: (user, done) => hub.deregister(user, done),
      refresh: () => hub.refresh(),
      setRelay: (id, state) => hub.setRelay(id, state),
      setPriority: (id, priority) => hub.setPriority(id, priority),
      diagnosticsInput: () => diagnosticsInput(RED, node.id, resolved, configError, hub, node.credentials),
    };
    Object.defineProperties(node, Object.getOwnPropertyDescriptors(api));
    Object.defineProperty(node, 'hub', { value: hub, enumerable: false });

    node.on('close', (_removed: boolean, done: () => void) => {
      hub.close().then(done, done);
    });
  }

  RED.nodes.registerType<Node<SpanPanelCredentials>, SpanPanelDef, object, SpanPanelCredentials>(
    'span-panel',
    SpanPanelNode,
    {
      credentials: {
        token: { type: 'password' },
        passphrase: { type: 'password' },
        // Written at runtime by a v2 registration; `password` so they are never sent to the editor.
        accessToken: { type: 'password' },
        brokerUsername: { type: 'password' },
        brokerPassword: { type: 'password' },
        serial: { type: 'password' },
        registeredHost: { type: 'password' },
      },
    },
  );

  registerAdminEndpoints(RED);
  registerDiagnosticsEndpoint(RED);
  registerDiscoveryEndpoint(RED);
};
