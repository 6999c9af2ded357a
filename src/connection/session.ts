import { EnergyGuard } from '../model/energy-guard';
import type { TransportCause } from '../supervisor/supervisor';
import type { TimingPolicy } from '../supervisor/timing';
import type { Logger } from '../util/logger';
import type { DetectResult } from '../transport/detect';
import { asPanelError, PanelError } from '../transport/errors';
import type { PanelTransport } from '../transport/transport';
import { createV1Transport, type V1TransportOptions } from '../transport/v1';
import type { PanelConnectionConfig } from './config';
import { RegistrationGate, type RegistrationGateOptions } from './registration-gate';
import { createV2ForConfig, detectForConfig } from './v2';

/**
 * What one panel connection remembers between transports: the last API detection (an authentication
 * rejection proves the API answers, so the attempt after it skips detection and costs one request) and the
 * registration gate (never two registrations for one outcome).
 */
export class ConnectionSession {
  private detected: DetectResult | null = null;
  readonly registrations: RegistrationGate;
  /** One guard per panel connection, not per transport: a rebuilt client must not forget the counters. */
  private readonly energyGuard: EnergyGuard;

  constructor(
    private readonly config: PanelConnectionConfig,
    private readonly timing: TimingPolicy,
    private readonly logger: Logger,
    private readonly v1Options: Pick<V1TransportOptions, 'idleSocketMs' | 'mitigation' | 'lookup'> = {},
    gate: RegistrationGateOptions = {},
  ) {
    this.registrations = new RegistrationGate(gate);
    this.energyGuard = new EnergyGuard(3, 0.01, config.energyStore ?? null);
  }

  async create(
    signal: AbortSignal,
    cause: TransportCause = 'start',
    authRejections = 0,
  ): Promise<PanelTransport> {
    const { config, timing } = this;
    let fresh = false;
    if (config.api === 'auto' && (cause === 'start' || this.detected === null)) {
      this.detected = await detectForConfig(config, timing, signal);
      fresh = true;
    }
    const detected = config.api === 'auto' ? (this.detected ?? undefined) : undefined;
    const api = detected?.api ?? config.api;
    if (api === 'v1') {
      if (!config.token) {
        throw new PanelError(
          'needs-registration',
          'this panel speaks only the legacy v1 API and no access token is configured: open the panel door, ' +
            'press the door switch 3 times, then press "Register with panel" within 15 minutes',
          { detected: { api: 'v1', dataModel: 'v1-rest' } },
        );
      }
      return createV1Transport({
        host: config.host,
        token: config.token,
        requestTimeoutMs: timing.requestTimeoutMs,
        // One call (with its single in-request retry) may use the whole cycle, never more.
        callDeadlineMs: timing.cycleDeadlineMs,
        logger: this.logger,
        energyGuard: this.energyGuard,
        ...this.v1Options,
      });
    }
    return createV2ForConfig(config, timing, this.logger, signal, {
      authRejections,
      detected,
      freshStatus: fresh && detected?.api === 'v2' ? detected.status : null,
      gate: this.registrations,
      energyGuard: this.energyGuard,
    }).catch((e: unknown) => {
      // Registration and credential failures happen on a panel known to speak v2: say so in health.
      const err = asPanelError(e);
      if (err.detected) throw err;
      throw new PanelError(err.errorClass, err.message, {
        status: err.status,
        code: err.code,
        retryAfterMs: err.retryAfterMs,
        detected: { api: 'v2', dataModel: detected?.api === 'v2' ? detected.dataModel : null },
      });
    });
  }

  /** Abandons a registration in flight; the session stays usable. */
  close(): void {
    this.registrations.close();
  }
}
