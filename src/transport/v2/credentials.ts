/**
 * The broker login one v2 registration yields (docs/panel-api.md §4): what the transport logs in with, what
 * the connection remembers and what the config node keeps in Node-RED's credentials. Every value is a
 * secret but the serial: never logged, never in a message or a status.
 */
export interface V2Credentials {
  accessToken: string;
  brokerUsername: string;
  brokerPassword: string;
  /** Panel serial = Homie device id. */
  serial: string;
}

export const V2_CREDENTIAL_FIELDS = ['accessToken', 'brokerUsername', 'brokerPassword', 'serial'] as const;

/** Exactly the credential fields of `source` (a copy), or null when one is missing or empty. */
export function pickV2Credentials(
  source: Partial<Record<keyof V2Credentials, unknown>>,
): V2Credentials | null {
  const picked: Partial<V2Credentials> = {};
  for (const field of V2_CREDENTIAL_FIELDS) {
    const value = source[field];
    if (typeof value !== 'string' || value === '') return null;
    picked[field] = value;
  }
  return picked as V2Credentials;
}
