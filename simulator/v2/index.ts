/**
 * The v2 "SPAN API" face of the simulated panel, as a SimulatedPanel plugin: REST bootstrap routes on the
 * panel's API port, an MQTTS broker (aedes over TLS, own port) publishing the Homie 5 tree of the shared
 * panel state in the flat or the parent/child data model, `/set` commands applied to the state, and the v2
 * faults (broker down/up on the same port, CA rotation, retained wipe and replay, `$state` changes,
 * register 503, passphrase rotation).
 *
 *   const v2 = createV2Plugin({ dataModel: 'parent-child', passphrase: 'secret' });
 *   const panel = await SimulatedPanel.start({ plugins: [v2] });   // panel.ports.mqtt = v2.mqttPort
 *   await panel.faults.inject({ kind: 'broker-down', durationMs: 500 });
 *
 * Fault kinds (panel.faults.inject / POST /faults on the control port; undone by faults.clear()):
 *   broker-down {durationMs?}      listener closed, every MQTT client disconnected; back on the same port
 *                                  after durationMs, on broker-up, or on clear
 *   broker-up                      listen again (same port, same certificate)
 *   ca-rotation                    new CA + server certificate; broker restarted on the same port with it;
 *                                  /api/v2/certificate/ca serves the new CA
 *   retained-wipe {replayAfterMs?, valuesDelayMs?, meta?}
 *                                  empty retained payloads on every value topic (and $state/$description
 *                                  with meta), updates stop; replayed after replayAfterMs (default 500;
 *                                  null = only on retained-replay or clear)
 *   retained-replay {valuesDelayMs?}  $state init, every $description, (delay), values, $state ready
 *   homie-state {state, device?}   publish $state (init|ready|disconnected|sleeping|lost) of the root or a device
 *   register-not-ready {durationMs?}  POST /api/v2/auth/register answers 503 until cleared or expired
 *   passphrase-rotation {passphrase?}  new passphrase; broker passwords handed out so far stop working
 *   v1-disabled / v1-enabled       /api/v1/* answers 404 (a panel whose v1 API is gone) or is served again
 *   login-refused {count?}        the broker restarts (every client disconnected) and refuses the next
 *                                  `count` logins (default 1) with CONNACK 5, valid credentials or not
 *   v2-disabled / v2-enabled       /api/v2/* answers 404 and the broker stops listening (a v1-only firmware),
 *                                  or both are back
 *   firmware-upgrade {downMs?, keepV1?, firmwareVersion?}
 *                                  a v1 panel upgraded to v2 firmware: reboot (connection refused for downMs,
 *                                  default 5000), then /api/v2 and the broker answer and /api/v1/* answers
 *                                  404 (unless keepV1). Not undone by clear(): the panel stays upgraded.
 *
 * "v2 status answers 404 for N s" needs no kind of its own: a request fault
 * `{kind: 'status', status: 404, path: '/api/v2/status', durationMs: N * 1000}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../http/respond';
import type { SimPlugin, SimPluginContext } from '../plugin';
import type { SimPanelState } from '../state-types';
import { SimBroker } from './broker';
import { PanelCertificates } from './certs';
import { CommandHandler } from './commands';
import { SimV2Credentials } from './credentials';
import { type SimDataModel, defaultFirmware, firmwareFits, V1_ONLY_FIRMWARE } from './firmware';
import {
  HOMIE_DEVICE_STATES,
  type HomieDeviceState,
  type SimHomieTree,
  type PublisherExtras,
} from './sim-homie-common';
import { EVSE } from './der';
import { buildFlatTree } from './sim-homie-flat';
import { buildParentChildTree } from './sim-homie-parent-child';
import { HomiePublisher } from './publisher';
import { createV2RestHandler, V2_PREFIX } from './sim-rest';

export type { SimDataModel } from './firmware';
export { FLAT_FIRMWARE, PARENT_CHILD_FIRMWARE, V1_ONLY_FIRMWARE } from './firmware';
export type { AuthOut } from './sim-rest';
export type { BrokerViolation } from './broker';
export type { CommandRecord } from './commands';
export type { HomieDeviceState, SimHomieTree, HomieDescription } from './sim-homie-common';

export interface V2PluginOptions {
  dataModel: SimDataModel;
  /** The HOP passphrase (random when omitted; read it from plugin.passphrase). */
  passphrase?: string;
  /**
   * Firmware to report. Default: the panel's own when it fits the data model (r202603…r202627 flat,
   * r202633+ parent/child), else spanos2/r202603/05 resp. spanos2/r202633/01. Written to the shared state so
   * v1 /status reports the same firmware.
   */
  firmwareVersion?: string;
  /** ebusBrokerHost in the register answer; default the API host (a real panel says span-<serial>.local). */
  brokerHost?: string;
  /** MQTTS port; default 0 (ephemeral). */
  mqttPort?: number;
  /** RSA key size for the CA and server keys; default 2048. */
  keyBits?: number;
  /** CA downloads per minute per client address (the real panel allows 10); default unlimited. */
  caRateLimitPerMin?: number | null;
  /** Delay between descriptions and values in a replay (ms); default 200. */
  replayValuesDelayMs?: number;
  /** Serve /api/v1/* as 404 from the start (a v2-only panel); default false. */
  v1Disabled?: boolean;
  /**
   * Start as a v1-only firmware (reported as V1_ONLY_FIRMWARE): /api/v2/* answers 404 and the broker does
   * not listen until a 'firmware-upgrade' (or 'v2-enabled') fault; default false.
   */
  v2Disabled?: boolean;
}

export interface FirmwareUpgradeOptions {
  /** Connection refused for this long (the reboot); default 5000 ms. */
  downMs?: number;
  /** Keep serving /api/v1/* after the upgrade; default false (the v1 sunset). */
  keepV1?: boolean;
  /** Firmware reported afterwards; default the data model's own. */
  firmwareVersion?: string;
}

export interface RetainedWipeOptions {
  /** Replay after this many ms; default 500; null = wait for replay() / clearFaults(). */
  replayAfterMs?: number | null;
  valuesDelayMs?: number;
  /** Also clear $state and $description. */
  meta?: boolean;
}

interface Running {
  state: SimPanelState;
  certificates: PanelCertificates;
  broker: SimBroker;
  publisher: HomiePublisher;
  commands: CommandHandler;
  onChange: () => void;
}

export class V2Plugin implements SimPlugin {
  readonly name = 'v2';
  readonly dataModel: SimDataModel;
  readonly credentials: SimV2Credentials;
  readonly faultHandlers: NonNullable<SimPlugin['faultHandlers']>;
  private running: Running | null = null;
  private restHandler: ((req: IncomingMessage, res: ServerResponse) => boolean) | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly extras: PublisherExtras = {
    dominantPowerSource: null,
    evseUserMaxChargeCurrentA: EVSE.defaultUserMaxA,
  };
  private notReady = false;
  private brokerIsDown = false;
  private v1Off: boolean;
  private v2Off: boolean;
  /** What clear() returns to: the option values, until a firmware upgrade changes the panel for good. */
  private baseline: { v1Off: boolean; v2Off: boolean };
  private ctx: SimPluginContext | null = null;
  private loginsToRefuse = 0;
  private closed = false;

  constructor(private readonly opts: V2PluginOptions) {
    if (opts.dataModel !== 'flat' && opts.dataModel !== 'parent-child')
      throw new Error(`unknown data model: ${String(opts.dataModel)}`);
    this.dataModel = opts.dataModel;
    this.credentials = new SimV2Credentials(opts.passphrase);
    this.v1Off = opts.v1Disabled === true;
    this.v2Off = opts.v2Disabled === true;
    this.baseline = { v1Off: this.v1Off, v2Off: this.v2Off };
    this.faultHandlers = {
      'broker-down': (a) => this.brokerDown(optionalNumber(a.durationMs)),
      'broker-up': () => this.brokerUp(),
      'ca-rotation': () => this.rotateCa(),
      'retained-wipe': (a) =>
        this.wipeRetained({
          replayAfterMs: a.replayAfterMs === null ? null : optionalNumber(a.replayAfterMs),
          valuesDelayMs: optionalNumber(a.valuesDelayMs),
          meta: a.meta === true,
        }),
      'retained-replay': (a) => this.replayRetained(optionalNumber(a.valuesDelayMs)),
      'homie-state': (a) => this.setHomieState(a.state as HomieDeviceState, a.device as string | undefined),
      'register-not-ready': (a) => this.setRegisterNotReady(a.on !== false, optionalNumber(a.durationMs)),
      'passphrase-rotation': (a) => {
        this.credentials.rotate(typeof a.passphrase === 'string' ? a.passphrase : undefined);
      },
      'v1-disabled': () => {
        this.v1Off = true;
      },
      'v1-enabled': () => {
        this.v1Off = false;
      },
      'login-refused': async (a) => {
        this.loginsToRefuse = optionalNumber(a.count) ?? 1;
        await this.brokerDown();
        await this.brokerUp();
      },
      'v2-disabled': () => this.setV2(false),
      'v2-enabled': () => this.setV2(true),
      'firmware-upgrade': (a) =>
        this.upgradeFirmware({
          downMs: optionalNumber(a.downMs),
          keepV1: a.keepV1 === true,
          firmwareVersion: typeof a.firmwareVersion === 'string' ? a.firmwareVersion : undefined,
        }),
    };
  }

  /** Plugin HTTP handler: the /api/v2 routes (and the v1 switch-off). */
  readonly httpHandler = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '';
    if ((this.v1Off && url.startsWith('/api/v1/')) || (this.v2Off && url.startsWith(V2_PREFIX))) {
      sendJson(res, 404, { detail: 'Not Found' });
      return true;
    }
    return this.restHandler ? this.restHandler(req, res) : false;
  };

  async start(ctx: SimPluginContext): Promise<{ mqtt: number }> {
    if (this.running) throw new Error('v2 plugin already started');
    this.ctx = ctx;
    const state: SimPanelState = ctx.state;
    const identity = state.identity;
    if (this.v2Off) identity.firmwareVersion = V1_ONLY_FIRMWARE;
    else if (this.opts.firmwareVersion) identity.firmwareVersion = this.opts.firmwareVersion;
    else if (!firmwareFits(identity.firmwareVersion, this.dataModel))
      identity.firmwareVersion = defaultFirmware(this.dataModel);

    const certificates = await PanelCertificates.create({
      serial: identity.serial,
      keyBits: this.opts.keyBits,
    });
    const commands = new CommandHandler(state, this.dataModel, this.extras, () => {
      void this.running?.publisher.refresh();
    });
    const broker = new SimBroker({
      host: ctx.http.host,
      port: this.opts.mqttPort ?? 0,
      tls: certificates.current,
      authenticate: (username, password) => {
        if (this.loginsToRefuse > 0) {
          this.loginsToRefuse -= 1;
          return false;
        }
        return username === state.identity.serial && this.credentials.isValidBrokerPassword(password);
      },
      onCommand: (topic, payload, clientId) => {
        commands.handle(topic, payload, clientId);
      },
    });
    const publisher = new HomiePublisher(
      (topic, payload) => broker.publish(topic, payload),
      () => this.buildTree(state),
    );
    const onChange = () => void publisher.refresh();
    this.running = { state, certificates, broker, publisher, commands, onChange };
    await broker.listen();
    if (this.v2Off) await this.brokerDown();
    await publisher.start();
    state.on('change', onChange);

    this.restHandler = createV2RestHandler({
      state,
      model: this.dataModel,
      credentials: this.credentials,
      tokens: ctx.tokens,
      caPem: () => certificates.current.caPem,
      mqttsPort: () => broker.port,
      brokerHost: () => this.opts.brokerHost ?? ctx.http.host,
      registerNotReady: () => this.notReady,
      caRateLimitPerMin: this.opts.caRateLimitPerMin,
    });
    return { mqtt: broker.port };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    this.restHandler = null;
    const r = this.running;
    if (!r) return;
    r.state.off('change', r.onChange);
    r.publisher.close();
    await r.broker.close();
  }

  // ---- accessors (after start) ----

  get passphrase(): string {
    return this.credentials.passphrase;
  }

  get mqttPort(): number {
    return this.run().broker.port;
  }

  get caPem(): string {
    return this.run().certificates.current.caPem;
  }

  get broker(): SimBroker {
    return this.run().broker;
  }

  get publisher(): HomiePublisher {
    return this.run().publisher;
  }

  get certificates(): PanelCertificates {
    return this.run().certificates;
  }

  /** Every `/set` command received, with what became of it. */
  get commandLog() {
    return this.run().commands.log;
  }

  /** The Homie tree the current state yields (what a full retained snapshot contains). */
  currentTree(): SimHomieTree {
    return this.buildTree(this.run().state);
  }

  /** Broker credentials as register would hand them out, without going through REST (tests, tools). */
  issueBrokerCredentials(): { username: string; password: string } {
    return { username: this.run().state.identity.serial, password: this.credentials.issueBrokerPassword() };
  }

  /** Waits until every publish queued so far reached the broker. */
  settled(): Promise<void> {
    return this.run().publisher.refresh();
  }

  // ---- faults ----

  async brokerDown(durationMs?: number): Promise<void> {
    this.brokerIsDown = true;
    await this.run().broker.stopListening();
    if (durationMs !== undefined) this.later(durationMs, () => this.brokerUp());
  }

  async brokerUp(): Promise<void> {
    if (this.closed) return;
    await this.run().broker.resume();
    this.brokerIsDown = false;
  }

  /** v2 on (REST + broker) or off (404 + broker not listening), as a firmware with or without it. */
  async setV2(on: boolean): Promise<void> {
    this.v2Off = !on;
    if (on) await this.brokerUp();
    else await this.brokerDown();
  }

  /** See the 'firmware-upgrade' fault kind. */
  async upgradeFirmware(opts: FirmwareUpgradeOptions = {}): Promise<void> {
    const ctx = this.ctx;
    if (!ctx || this.closed) throw new Error('v2 plugin not started');
    const downMs = opts.downMs ?? 5000;
    await this.brokerDown();
    this.baseline = { v1Off: opts.keepV1 !== true, v2Off: false };
    // The HTTP listener is closed while rebooting, so the new API set only shows once it listens again.
    this.v1Off = this.baseline.v1Off;
    this.v2Off = false;
    ctx.state.identity.firmwareVersion = opts.firmwareVersion ?? defaultFirmware(this.dataModel);
    await ctx.faults.reboot({ refusedMs: downMs });
    if (downMs > 0) this.later(downMs, () => this.brokerUp());
    else await this.brokerUp();
  }

  async rotateCa(): Promise<void> {
    const r = this.run();
    // A broker that is down stays down and comes back with the new certificate.
    await r.broker.restart(await r.certificates.rotate(), { listen: !this.brokerIsDown });
  }

  async wipeRetained(opts: RetainedWipeOptions = {}): Promise<void> {
    const r = this.run();
    await r.publisher.wipe({ meta: opts.meta });
    const replayAfterMs = opts.replayAfterMs === undefined ? 500 : opts.replayAfterMs;
    if (replayAfterMs !== null) this.later(replayAfterMs, () => this.replayRetained(opts.valuesDelayMs));
  }

  replayRetained(valuesDelayMs?: number): Promise<void> {
    return this.run().publisher.replay(valuesDelayMs ?? this.opts.replayValuesDelayMs ?? 200);
  }

  setHomieState(state: HomieDeviceState, deviceId?: string): Promise<void> {
    if (!HOMIE_DEVICE_STATES.includes(state)) throw new Error(`invalid Homie $state: ${String(state)}`);
    return this.run().publisher.setState(state, deviceId);
  }

  setRegisterNotReady(on: boolean, durationMs?: number): void {
    this.notReady = on;
    if (on && durationMs !== undefined) this.later(durationMs, () => this.setRegisterNotReady(false));
  }

  /** Undoes every v2 fault: broker up, register ready, retained tree replayed if wiped, root $state ready. */
  readonly clearFaults = async (): Promise<void> => {
    this.clearTimers();
    this.notReady = false;
    this.loginsToRefuse = 0;
    this.v1Off = this.baseline.v1Off;
    this.v2Off = this.baseline.v2Off;
    const r = this.running;
    if (!r || this.closed) return;
    if (this.v2Off) await this.brokerDown();
    else if (this.brokerIsDown || !r.broker.listening) await this.brokerUp();
    if (r.publisher.isPaused) await this.replayRetained(0);
    else if (r.publisher.retainedPayload(`ebus/5/${r.state.identity.serial}/$state`) !== 'ready')
      await r.publisher.setState('ready');
  };

  private buildTree(state: SimPanelState): SimHomieTree {
    return this.dataModel === 'flat'
      ? buildFlatTree(state, this.extras)
      : buildParentChildTree(state, this.extras);
  }

  private run(): Running {
    if (!this.running) throw new Error('v2 plugin not started');
    return this.running;
  }

  private later(ms: number, fn: () => Promise<void> | void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) void Promise.resolve(fn()).catch(() => undefined);
    }, ms);
    this.timers.add(timer);
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

export function createV2Plugin(opts: V2PluginOptions): V2Plugin {
  return new V2Plugin(opts);
}

function optionalNumber(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error('expected a non-negative number');
  return n;
}
