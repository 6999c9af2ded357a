/**
 * SimulatedPanel: one simulated SPAN panel on loopback — the shared physical state, the API listener
 * (v1 REST built in, more faces through plugins), the control API, fault injection, request counters and a
 * physics timer. `close()` releases every listener, socket (including hung ones) and timer.
 *
 * Plugin hook (used by the v2 MQTT/Homie face in simulator/v2/):
 *
 *   const plugin: SimPlugin = {
 *     name: 'v2',
 *     httpHandler: (req, res) => handled,              // extra routes on the API port (/api/v2/*); answer
 *                                                      //   through sendJson/sendBody so body faults apply
 *     faultHandlers: { 'broker-down': (args) => ... }, // new fault kinds, reachable through
 *                                                      //   panel.faults.inject({kind:'broker-down',...})
 *                                                      //   and POST /faults on the control port
 *     clearFaults: () => ...,                          // undo them on DELETE /faults / faults.clear()
 *     async start({ state, faults, tokens, http: { host, port } }) { ...; return { mqtt: brokerPort }; },
 *     async close() { ... },
 *   };
 *   const panel = await SimulatedPanel.start({ plugins: [plugin] });  // panel.ports.mqtt === brokerPort
 *
 * Plugins start after the API and control listeners are up, in order, and close in reverse order before them.
 */
import { DEFAULT_PROXIMITY_WINDOW_MS, ProximityWindow } from './auth/proximity';
import { TokenRegistry } from './auth/tokens';
import { ControlServer } from './control/server';
import { FaultController } from './faults/controller';
import {
  type CloseWith,
  DEFAULT_KEEP_ALIVE,
  type KeepAliveMode,
  type KeepAliveOptions,
} from './http/keep-alive';
import { RequestStats } from './http/request-stats';
import { SimHttpServer } from './http/server';
import { advertisePanel } from './mdns-advertiser';
import type { SimPlugin } from './plugin';
import { PanelState, type PanelStateOptions } from './state';
import { createV2Plugin, type V2Plugin, type V2PluginOptions } from './v2';

export interface SimulatedPanelOptions extends PanelStateOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** API port; default 0 (ephemeral). */
  port?: number;
  /** Control API port; default 0 (ephemeral); null = no control listener. */
  controlPort?: number | null;
  /** Keep-alive idle timeout K in ms; default 5000 (like the real panel). */
  keepAliveMs?: number;
  /** 'close' (default): idle sockets closed at K; 'silent': forgotten at K, next request dropped. */
  keepAliveMode?: KeepAliveMode;
  /** How idle sockets are closed (and silent drops done): 'fin' (default) or 'rst'. */
  keepAliveCloseWith?: CloseWith;
  /** Send `Keep-Alive: timeout=<K s>`; default true. */
  keepAliveHint?: boolean;
  /** Physics tick interval in ms; default 1000; 0 = no timer (tests call state.tick()). */
  tickMs?: number;
  /** Pre-registered bearer token(s). */
  token?: string | string[];
  /** Length of the proximity window opened through faults.proximity(true); default 15 min. */
  proximityWindowMs?: number;
  plugins?: SimPlugin[];
  /**
   * Serve the v2 "SPAN API" face too (REST bootstrap + MQTTS broker with the Homie tree), e.g.
   * `{ dataModel: 'flat' }`; reach it through `panel.v2`. See simulator/v2/index.ts.
   */
  v2Api?: V2PluginOptions;
  /**
   * Announce the panel over mDNS (`_span._tcp`, and `_ebus._tcp` / `_secure-mqtt._tcp` with the v2 face),
   * as a real panel does; `{ port }` uses another UDP port than 5353 (tests). Off by default.
   */
  mdns?: boolean | { port?: number };
}

export interface SimPorts {
  http: number;
  control: number | null;
  mqtt: number | null;
}

export class SimulatedPanel {
  readonly state: PanelState;
  readonly tokens: TokenRegistry;
  readonly stats: RequestStats;
  readonly faults: FaultController;
  readonly proximity: ProximityWindow;
  readonly ports: SimPorts = { http: 0, control: null, mqtt: null };
  readonly host: string;
  /** The v2 face when started with the `v2Api` option (broker, credentials, v2 faults), else null. */
  readonly v2: V2Plugin | null;

  private readonly http: SimHttpServer;
  private readonly control: ControlServer | null;
  private readonly plugins: SimPlugin[];
  private readonly startedPlugins: SimPlugin[] = [];
  private tickTimer: NodeJS.Timeout | null = null;
  private advertiser: { close(): Promise<void> } | null = null;
  private closing: Promise<void> | null = null;

  private constructor(private readonly opts: SimulatedPanelOptions) {
    this.host = opts.host ?? '127.0.0.1';
    this.state = new PanelState(opts);
    this.tokens = new TokenRegistry(opts.now);
    for (const token of ([] as string[]).concat(opts.token ?? [])) this.tokens.registerToken(token);
    const keepAlive: KeepAliveOptions = {
      idleMs: opts.keepAliveMs ?? DEFAULT_KEEP_ALIVE.idleMs,
      mode: opts.keepAliveMode ?? DEFAULT_KEEP_ALIVE.mode,
      closeWith: opts.keepAliveCloseWith ?? DEFAULT_KEEP_ALIVE.closeWith,
      hint: opts.keepAliveHint ?? DEFAULT_KEEP_ALIVE.hint,
    };
    let tracker: SimHttpServer['tracker'] | null = null;
    this.stats = new RequestStats(() => tracker?.accepted ?? 0);
    this.http = new SimHttpServer({
      host: this.host,
      port: opts.port ?? 0,
      keepAlive,
      v1: { state: this.state, tokens: this.tokens },
      stats: this.stats,
    });
    tracker = this.http.tracker;
    this.proximity = new ProximityWindow(this.state, opts.proximityWindowMs ?? DEFAULT_PROXIMITY_WINDOW_MS);
    this.faults = new FaultController({
      state: this.state,
      tokens: this.tokens,
      proximity: this.proximity,
      closeListener: () => this.http.stopListening(),
      reopenListener: () => this.http.reopen(),
    });
    this.http.setFaults(this.faults);
    this.control =
      opts.controlPort === null
        ? null
        : new ControlServer(
            {
              state: this.state,
              faults: this.faults,
              stats: this.stats,
              tokens: this.tokens,
              connections: this.http.tracker,
            },
            this.host,
            opts.controlPort ?? 0,
          );
    this.v2 = opts.v2Api ? createV2Plugin(opts.v2Api) : null;
    this.plugins = [...(this.v2 ? [this.v2] : []), ...(opts.plugins ?? [])];
  }

  static async start(opts: SimulatedPanelOptions = {}): Promise<SimulatedPanel> {
    const panel = new SimulatedPanel(opts);
    try {
      await panel.boot();
    } catch (err) {
      await panel.close();
      throw err;
    }
    return panel;
  }

  /** Base URL of the API listener, e.g. http://127.0.0.1:41234 */
  get url(): string {
    return `http://${this.host}:${this.ports.http}`;
  }

  /** Current keep-alive behaviour; change it with setKeepAlive (applies from the next idle period). */
  get keepAlive(): Readonly<KeepAliveOptions> {
    return { ...this.http.tracker.options };
  }

  setKeepAlive(change: Partial<KeepAliveOptions>): void {
    this.http.tracker.options = { ...this.http.tracker.options, ...change };
  }

  /** Connections currently open on the API listener. */
  get openConnections(): number {
    return this.http.tracker.open;
  }

  async close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async boot(): Promise<void> {
    this.ports.http = await this.http.listen();
    if (this.control) this.ports.control = await this.control.listen();
    const tickMs = this.opts.tickMs ?? 1000;
    if (tickMs > 0) {
      this.tickTimer = setInterval(() => this.state.tick(), tickMs);
      this.tickTimer.unref();
    }
    for (const plugin of this.plugins) {
      if (plugin.httpHandler) this.http.addHandler(plugin.httpHandler);
      for (const [kind, handler] of Object.entries(plugin.faultHandlers ?? {}))
        this.faults.registerKind(kind, handler);
      if (plugin.clearFaults) this.faults.onClear(plugin.clearFaults);
      this.startedPlugins.push(plugin);
      const result = await plugin.start({
        state: this.state,
        faults: this.faults,
        tokens: this.tokens,
        http: { host: this.host, port: this.ports.http },
      });
      if (result && typeof result.mqtt === 'number' && this.ports.mqtt === null)
        this.ports.mqtt = result.mqtt;
    }
    if (this.opts.mdns) {
      const id = this.state.identity;
      this.advertiser = advertisePanel({
        serial: id.serial,
        model: id.model,
        firmware: id.firmwareVersion,
        address: this.host,
        httpPort: this.ports.http,
        mqttPort: this.ports.mqtt,
        port: typeof this.opts.mdns === 'object' ? this.opts.mdns.port : undefined,
      });
    }
  }

  private async shutdown(): Promise<void> {
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    this.proximity.dispose();
    this.faults.dispose();
    const errors: unknown[] = [];
    await this.advertiser?.close().catch((err: unknown) => errors.push(err));
    for (const plugin of [...this.startedPlugins].reverse()) {
      await plugin.close().catch((err: unknown) => errors.push(err));
    }
    await this.http.close().catch((err: unknown) => errors.push(err));
    if (this.control) await this.control.close().catch((err: unknown) => errors.push(err));
    this.state.removeAllListeners();
    if (errors.length > 0) throw errors[0];
  }
}
