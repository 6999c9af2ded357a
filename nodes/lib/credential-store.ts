/**
 * Keeps the v2 registration result (access token, broker login, serial) in the config node's Node-RED
 * credentials, next to the user-entered token and passphrase, so a restart reuses it instead of registering
 * a new client on the panel. The values never leave the runtime: they are declared as `password`
 * credentials, which Node-RED neither exports nor sends to the editor.
 *
 * Node-RED writes credentials to flows_cred.json when flows are next deployed; until then they live in the
 * runtime's credential cache (a restart before that deploy registers once more with the passphrase).
 */
import type { NodeAPI } from 'node-red';
import type { CredentialStore, StoredV2Credentials } from '../../src/connection/config';
import { pickV2Credentials, V2_CREDENTIAL_FIELDS } from '../../src/transport/v2/credentials';
import type { SpanPanelCredentials } from './panel-types';

export const REGISTRATION_FIELDS = [...V2_CREDENTIAL_FIELDS, 'registeredHost', 'caPem', 'caHost'] as const;

/** Raw (not environment-expanded) credentials as stored; a copy. */
export function storedCredentials(RED: NodeAPI, nodeId: string): SpanPanelCredentials {
  const raw = RED.nodes.getCredentials(nodeId) as SpanPanelCredentials | undefined;
  return raw ? { ...raw } : {};
}

export function saveRegistration(
  RED: NodeAPI,
  nodeId: string,
  host: string,
  creds: StoredV2Credentials,
): Promise<void> {
  // addCredentials replaces the whole set: merge with what is stored (raw, so `${VAR}` references survive).
  const merged: SpanPanelCredentials = {
    ...storedCredentials(RED, nodeId),
    ...pickV2Credentials(creds),
    registeredHost: host,
  };
  if (creds.caPem) {
    // An explicit registration fetched the CA: it is the trusted one from now on.
    merged.caPem = creds.caPem;
    merged.caHost = host;
  } else if (merged.caHost !== host) {
    // A CA trusted for another host belongs to another panel. For the same host it stays: a registration
    // the connection makes by itself (passphrase) must not undo a pinned CA.
    delete merged.caPem;
    delete merged.caHost;
  }
  return Promise.resolve(RED.nodes.addCredentials(nodeId, merged));
}

export function loadRegistration(RED: NodeAPI, nodeId: string, host: string): StoredV2Credentials | null {
  const c = storedCredentials(RED, nodeId);
  if (c.registeredHost && c.registeredHost !== host) return null;
  return pickV2Credentials(c);
}

/** The trusted panel CA for `host`, if one is stored. */
export function loadCa(RED: NodeAPI, nodeId: string, host: string): string | null {
  const c = storedCredentials(RED, nodeId);
  return c.caPem && c.caHost === host ? c.caPem : null;
}

export function saveCa(RED: NodeAPI, nodeId: string, host: string, pem: string): Promise<void> {
  const merged: SpanPanelCredentials = { ...storedCredentials(RED, nodeId), caPem: pem, caHost: host };
  return Promise.resolve(RED.nodes.addCredentials(nodeId, merged));
}

export function nodeCredentialStore(
  RED: NodeAPI,
  nodeId: string,
  host: string,
  onError: (message: string) => void,
): CredentialStore {
  return {
    load: () => loadRegistration(RED, nodeId, host),
    save: (creds) => {
      saveRegistration(RED, nodeId, host, creds).catch((e: unknown) =>
        onError(`could not store the panel registration: ${(e as Error).message}`),
      );
    },
  };
}
