#!/usr/bin/env node
/**
 * Runs a simulated SPAN panel on loopback until SIGINT/SIGTERM.
 *   node dist/simulator/cli.js --help      (npm run sim -- --help)
 * Prints exactly one line of JSON to stdout once ready, e.g.
 *   {"ready":true,"http":41234,"control":41235,"mqtt":null,"serial":"nj-2316-AC9Z"}
 * Everything else (errors) goes to stderr.
 */
import { parseArgs } from 'node:util';
import type { CliExtension, CliOptionSpec } from './cli-extension';
import { SimulatedPanel, type SimulatedPanelOptions } from './panel';

const USAGE = `Usage: node dist/simulator/cli.js [options]   (or: npm run sim -- [options])

Simulated SPAN panel (v1 REST face, keep-alive behaviour, fault injection, control API).

Options:
  --host <addr>                 listen address (default 127.0.0.1)
  --port <n>                    panel API port (default 0 = ephemeral)
  --control-port <n>            control API port (default 0 = ephemeral)
  --keepalive-ms <ms>           keep-alive idle timeout K (default 5000)
  --keepalive-mode close|silent close idle sockets at K, or forget them silently and drop the next
                                request on them (default close)
  --keepalive-close fin|rst     how idle sockets are closed / silent drops are done (default fin)
  --no-keepalive-hint           do not send the Keep-Alive: timeout=<K s> header
  --seed <n>                    PRNG seed for the physics (default 1)
  --tick-ms <ms>                physics tick interval (default 1000, 0 = off)
  --token <token>               pre-register a bearer token (repeatable; a fake simulator token)
  --serial <serial>             panel serial (default nj-2316-XXXX from the seed)
  --firmware <version>          firmware string (default spanos2/r202603/05)
  -h, --help                    show this help

Once ready, prints one JSON line: {"ready":true,"http":<port>,"control":<port>,"mqtt":<port|null>,"serial":"..."}
Control API (on the control port): GET /state, GET|POST|DELETE /faults, GET|DELETE /stats, POST /proximity,
POST /reboot, POST /tokens, POST /tokens/revoke. See simulator/control/server.ts.
`;

const CORE_OPTIONS: Record<string, CliOptionSpec> = {
  host: { type: 'string' },
  port: { type: 'string' },
  'control-port': { type: 'string' },
  'keepalive-ms': { type: 'string' },
  'keepalive-mode': { type: 'string' },
  'keepalive-close': { type: 'string' },
  'no-keepalive-hint': { type: 'boolean' },
  seed: { type: 'string' },
  'tick-ms': { type: 'string' },
  token: { type: 'string', multiple: true },
  serial: { type: 'string' },
  firmware: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

/**
 * SPOT FOR OTHER FACES (sim2: --api v1|v2|both, --data-model flat|parent-child): export
 * `cliExtension: CliExtension` from ./v2/cli-extension and it is loaded here; its options are merged into
 * the parser, its usage appended to --help, and its plugins passed to SimulatedPanel.start.
 */
function loadExtensions(): CliExtension[] {
  const extensions: CliExtension[] = [];
  for (const modulePath of ['./v2/cli-extension']) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(modulePath) as { cliExtension?: CliExtension };
      if (mod.cliExtension) extensions.push(mod.cliExtension);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'MODULE_NOT_FOUND' || !String(e.message).includes(modulePath.slice(2))) throw err;
    }
  }
  return extensions;
}

function intOption(values: Record<string, unknown>, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer`);
  return n;
}

function oneOf<T extends string>(
  values: Record<string, unknown>,
  name: string,
  allowed: readonly T[],
): T | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (!allowed.includes(raw as T)) throw new Error(`--${name} must be one of ${allowed.join(', ')}`);
  return raw as T;
}

async function main(argv: string[]): Promise<number> {
  const extensions = loadExtensions();
  const options = Object.assign({}, CORE_OPTIONS, ...extensions.map((e) => e.options));
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE + extensions.map((e) => e.usage).join('\n'));
    return 0;
  }

  let opts: SimulatedPanelOptions;
  try {
    const plugins = [];
    for (const e of extensions) plugins.push(...(await e.plugins(values)));
    opts = {
      host: typeof values.host === 'string' ? values.host : undefined,
      port: intOption(values, 'port'),
      controlPort: intOption(values, 'control-port'),
      keepAliveMs: intOption(values, 'keepalive-ms'),
      keepAliveMode: oneOf(values, 'keepalive-mode', ['close', 'silent'] as const),
      keepAliveCloseWith: oneOf(values, 'keepalive-close', ['fin', 'rst'] as const),
      keepAliveHint: values['no-keepalive-hint'] ? false : undefined,
      seed: intOption(values, 'seed'),
      tickMs: intOption(values, 'tick-ms'),
      token: values.token as string[] | undefined,
      serial: typeof values.serial === 'string' ? values.serial : undefined,
      firmwareVersion: typeof values.firmware === 'string' ? values.firmware : undefined,
      plugins,
    };
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }

  const panel = await SimulatedPanel.start(opts);
  const ready = {
    ready: true,
    http: panel.ports.http,
    control: panel.ports.control,
    mqtt: panel.ports.mqtt,
    serial: panel.state.identity.serial,
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);

  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      panel.close().then(
        () => resolve(0),
        (err: unknown) => {
          process.stderr.write(`error while closing after ${signal}: ${(err as Error).message}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`simulator failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
