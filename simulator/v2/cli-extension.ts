/**
 * Command-line options of the v2 face, picked up by simulator/cli.ts:
 *   --api v1|v2|both                 which API faces to serve (default v1: no broker; v2 = /api/v1/* is 404)
 *   --data-model flat|parent-child   v2 Homie tree (default flat; parent-child reports firmware r202633)
 *   --passphrase <text>              the HOP passphrase for POST /api/v2/auth/register (default random)
 *   --mqtt-port <n>                  MQTTS port (default 0 = ephemeral)
 * The ready line's "mqtt" field is then the broker's port.
 */
import type { CliExtension } from '../cli-extension';
import { createV2Plugin } from './index';

const APIS = ['v1', 'v2', 'both'] as const;
const MODELS = ['flat', 'parent-child'] as const;

export const cliExtension: CliExtension = {
  options: {
    api: { type: 'string' },
    'data-model': { type: 'string' },
    passphrase: { type: 'string' },
    'mqtt-port': { type: 'string' },
  },
  usage: `
v2 (SPAN API) options:
  --api v1|v2|both              API faces to serve (default v1; v2 answers /api/v1/* with 404)
  --data-model flat|parent-child
                                v2 Homie data model (default flat = r202603; parent-child = r202633)
  --passphrase <text>           HOP passphrase for POST /api/v2/auth/register (default random)
  --mqtt-port <n>               MQTTS broker port (default 0 = ephemeral)
`,
  plugins(values) {
    const api = pick(values.api, 'api', APIS) ?? 'v1';
    const dataModel = pick(values['data-model'], 'data-model', MODELS) ?? 'flat';
    if (api === 'v1') {
      if (values['data-model'] !== undefined || values.passphrase !== undefined)
        throw new Error('--data-model and --passphrase need --api v2 or both');
      return [];
    }
    let mqttPort: number | undefined;
    if (values['mqtt-port'] !== undefined) {
      mqttPort = Number(values['mqtt-port']);
      if (!Number.isInteger(mqttPort) || mqttPort < 0 || mqttPort > 65535)
        throw new Error('--mqtt-port must be a port number');
    }
    return [
      createV2Plugin({
        dataModel,
        passphrase: typeof values.passphrase === 'string' ? values.passphrase : undefined,
        mqttPort,
        v1Disabled: api === 'v2',
      }),
    ];
  },
};

function pick<T extends string>(raw: unknown, name: string, allowed: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  if (!allowed.includes(raw as T)) throw new Error(`--${name} must be one of ${allowed.join(', ')}`);
  return raw as T;
}
