/**
 * span-panel: the config node. Owns one panel connection (supervisor) shared by every node that uses it,
 * and pushes the panel's health to all of them as node status (config nodes have no status of their own).
 */
import type { Node, NodeAPI, NodeStatus } from 'node-red';
import { createPanelSupervisor, type PanelConnectionConfig } from '../src/connection';
import type { Logger } from '../src/util/logger';
import { CaTrust, type CaChangeEvent } from '../src/transport/v2/ca-trust';
import { registerAdminEndpoints } from './admin';
import { loadCa, nodeCredentialStore, saveCa, storedCredentials } from './lib/credential-store';
import { contextEnergyStore, type ContextLike } from './lib/energy-store';
import { registerDiagnosticsEndpoint } from './admin-diagnostics';
import { registerDiscoveryEndpoint } from './admin-discovery';
import { diagnosticsInput } from './lib/diagnostics-input';
import type { StatusSpec } from './lib/health-status';
import { resolvePanelConfig } from './lib/panel-config';
import { PanelHub } from './lib/panel-hub';
import type {
  LentSecrets,
  PanelConfigNode,
  PanelEvent,
  SpanPanelCredentials,
  SpanPanelDef,
} from './lib/panel-types';

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
    const host = resolved.ok ? resolved.config.host : null;

    const energy = contextEnergyStore(node.context() as unknown as ContextLike, logger.warn);
    // One per config node, shared by every connection it builds: the trusted CA lives in the credentials.
    const caTrust =
      resolved.ok && host !== null
        ? new CaTrust({
            policy: resolved.config.caPolicy,
            load: () => loadCa(RED, node.id, host),
            save: (pem) => {
              saveCa(RED, node.id, host, pem).catch((e: unknown) =>
                logger.warn(`could not store the panel CA: ${(e as Error).message}`),
              );
            },
            onChange: (e) => {
              const event = caChangeEvent(e);
              logger.warn(event.reason);
              hub.panelEvent(event);
            },
          })
        : null;
    const credentialStore = host !== null ? nodeCredentialStore(RED, node.id, host, logger.warn) : null;
    // One config object for the life of the node: a registration from the editor updates its secrets.
    const connection: PanelConnectionConfig | null =
      resolved.ok && credentialStore
        ? { ...resolved.config, credentialStore, caTrust: caTrust ?? undefined, energyStore: energy.store }
        : null;

    const hub: PanelHub = new PanelHub({
      configError,
      beforeStart: energy.ready,
      createSupervisor: connection ? () => createPanelSupervisor(connection, logger) : null,
      toNodeStatus: (spec: StatusSpec): NodeStatus => ({
        fill: spec.fill,
        shape: spec.shape,
        text: RED._(`span-panel.status.${spec.key}`, spec.params),
      }),
      reportError: (m) => node.error(m),
    });

    const api: Omit<PanelConfigNode, keyof Node> = {
      panelLabel: def.name || (resolved.ok ? resolved.config.host : 'SPAN panel'),
      resolvedHost: host,
      resolvedMqttPort: resolved.ok ? resolved.config.mqttPort : null,
      api: resolved.ok ? resolved.config.api : 'auto',
      configError,
      secretsFor: (requested: string): LentSecrets | null => {
        if (!resolved.ok || host === null || !credentialStore) return null;
        // Its own host, or the host its stored registration was made for: never a host named by a request.
        const registeredHost = storedCredentials(RED, node.id).registeredHost;
        if (requested !== host && requested !== registeredHost) return null;
        return {
          token: resolved.config.token,
          passphrase: resolved.config.passphrase,
          credentialStore:
            requested === host ? credentialStore : nodeCredentialStore(RED, node.id, requested, logger.warn),
          caTrust: requested === host ? caTrust : null,
        };
      },
      trustPendingCa: () => caTrust?.trustPending() ?? null,
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
      credentialsChanged: () => {
        if (!connection) return;
        // Re-read what the editor stored (a v1 token, a v2 login lives in the credential store already).
        const fresh = resolvePanelConfig(
          def,
          RED.nodes.getCredentials(node.id) as SpanPanelCredentials,
          (n) => RED.util.getSetting(node, n),
        );
        if (fresh.ok) {
          connection.token = fresh.config.token;
          connection.passphrase = fresh.config.passphrase;
        }
        hub.reconnect('credentials registered from the editor');
      },
      setChargeCurrent: (id, amps) => hub.setChargeCurrent(id, amps),
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
        // The trusted v2 panel CA, so a restart needs no plain-HTTP fetch and a changed CA is noticed.
        caPem: { type: 'password' },
        caHost: { type: 'password' },
      },
    },
  );

  registerAdminEndpoints(RED);
  registerDiagnosticsEndpoint(RED);
  registerDiscoveryEndpoint(RED);
};

/** The warn line and span-status event for a CA change (fingerprints only: a CA is public, but long). */
function caChangeEvent(e: CaChangeEvent): PanelEvent {
  const what = e.accepted
    ? e.by === 'user'
      ? 'trusted by the user'
      : 'followed: the broker certificate chains to it and names this panel'
    : 'refused by the "pinned" CA policy until you press "Trust new certificate" or register again';
  return {
    event: 'ca-changed',
    reason: `panel CA certificate changed from ${e.previousFingerprint} to ${e.newFingerprint}; ${what}`,
    ca: e,
  };
}
