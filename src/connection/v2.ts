import type { EnergyGuard } from '../model/energy-guard';
import type { TimingPolicy } from '../supervisor/timing';
import type { Logger } from '../util/logger';
import { detectApi, type DetectResult } from '../transport/detect';
import { PanelError } from '../transport/errors';
import type { PanelTransport } from '../transport/transport';
import {
  createV2Transport,
  fetchCaPem,
  fetchV2Status,
  pickV2Credentials,
  registerV2,
  type V2Registration,
} from '../transport/v2';
import type { V2Status } from '../transport/v2/rest';
import type { PanelConnectionConfig, StoredV2Credentials } from './config';
import type { RegistrationGate } from './registration-gate';

export function detectForConfig(
  config: PanelConnectionConfig,
  timing: TimingPolicy,
  signal: AbortSignal,
): Promise<DetectResult> {
  return detectApi(config.host, { signal, timeoutMs: timing.requestTimeoutMs });
}

export interface V2BuildContext {
  /** Authentication rejections in a row before this attempt (0 at start). */
  authRejections: number;
  /** From detection (auto), for the data model. */
  detected?: DetectResult;
  /** GET /api/v2/status answered just now (null: not asked in this attempt). */
  freshStatus: V2Status | null;
  gate: RegistrationGate;
  /** One per panel connection, shared by every transport it builds (see src/model/energy-guard.ts). */
  energyGuard: EnergyGuard;
}

const REGISTER_HELP =
  'enter the passphrase from the SPAN Home app (On-premise settings), or open the panel door and press the ' +
  'door switch 3 times, then press "Register with panel" (no redeploy needed)';

/**
 * The v2 transport for a config. Stored broker credentials are used when there are some (registration
 * creates a new client entry on the panel every time, so it is done once and remembered). A refused broker
 * login may be a broker restarting, so the stored login is tried again first; only when the refusal repeats
 * (the attempt after the second one) does a configured passphrase buy one new registration per streak.
 * Without stored credentials: one registration with the passphrase, or — no passphrase — only while the
 * panel reports its door-proximity window open; otherwise a `needs-registration` error saying what to do.
 */
export async function createV2ForConfig(
  config: PanelConnectionConfig,
  timing: TimingPolicy,
  logger: Logger,
  signal: AbortSignal,
  ctx: V2BuildContext,
): Promise<PanelTransport> {
  const stored = config.credentialStore?.load() ?? null;
  const reRegister = stored !== null && !!config.passphrase && ctx.authRejections === 2;
  if (stored && !reRegister) return transportFor(config, timing, logger, ctx, stored);

  if (!config.passphrase) {
    const status =
      ctx.freshStatus ??
      (await fetchV2Status({ host: config.host, timeoutMs: timing.requestTimeoutMs }, signal));
    if (status.proximityProven !== true) {
      throw new PanelError(
        'needs-registration',
        'this panel speaks the SPAN API (v2) and this Node-RED has no credential for it' +
          (config.token ? ' (a v1 access token does not work with v2)' : '') +
          `: ${REGISTER_HELP}`,
      );
    }
  }
  const creds = await ctx.gate.run(
    signal,
    (sig) =>
      registerV2(config.host, {
        name: 'node-red-span',
        passphrase: config.passphrase,
        signal: sig,
        // The registration has its own deadline, longer than a poll request's: a slow answer still counts.
        timeoutMs: ctx.gate.timeoutMs,
      }),
    (c) => {
      config.credentialStore?.save(stored2(c));
      logger.info(`SPAN panel ${config.host}: registered with the panel (serial ${c.serial})`);
    },
  );
  return transportFor(config, timing, logger, ctx, stored2(creds));
}

function transportFor(
  config: PanelConnectionConfig,
  timing: TimingPolicy,
  logger: Logger,
  ctx: V2BuildContext,
  credentials: StoredV2Credentials,
): PanelTransport {
  return createV2Transport({
    host: config.host,
    mqttPort: config.mqttPort,
    credentials,
    dataModel: ctx.detected?.api === 'v2' ? ctx.detected.dataModel : undefined,
    logger,
    httpTimeoutMs: timing.requestTimeoutMs,
    caTrust: config.caTrust,
    energyGuard: ctx.energyGuard,
  });
}

/** What is remembered of a registration: the credentials only (registerV2 checked every field). */
function stored2(c: V2Registration): StoredV2Credentials {
  return pickV2Credentials(c) as StoredV2Credentials;
}

export async function registerV2ForConfig(
  config: PanelConnectionConfig,
  clientName: string,
  timing: TimingPolicy,
  signal: AbortSignal,
): Promise<StoredV2Credentials> {
  const c = await registerV2(config.host, {
    name: clientName,
    passphrase: config.passphrase,
    signal,
    timeoutMs: timing.requestTimeoutMs,
  });
  // Registering is the user's explicit act of trust: the CA the panel serves now is the one kept with it.
  // Without it (fetch failed) the connection trusts the first CA it verifies a broker with, as before.
  const caPem = await fetchCaPem({ host: config.host, timeoutMs: timing.requestTimeoutMs }, signal).catch(
    () => undefined,
  );
  return { ...stored2(c), ...(caPem ? { caPem } : {}) };
}
