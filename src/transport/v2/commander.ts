import type { Circuit, SettablePriority, SettableRelay } from '../../model/panel';
import { PanelError, refuseUnsettableRelay } from '../errors';
import type { CommandOutcome } from '../transport';
import type { BrokerSession } from './broker-session';
import type { Changes } from './changes';
import type { CommandTarget, V2DataModelStrategy } from './data-model';
import type { HomieTree } from './homie-tree';

/** J1772's lowest charge rate: the panel's floor for the user charge-current ceiling. */
const MIN_CHARGE_CURRENT_A = 6;

export interface CommanderOptions {
  session: BrokerSession;
  tree: HomieTree;
  changes: Changes;
  model: () => V2DataModelStrategy;
  now: () => number;
  /** How long a command waits for the panel to republish the requested value. */
  commandTimeoutMs: number;
}

/**
 * Commands to the panel: checked against the tree as the panel last described it (refused, with nothing
 * sent, when they cannot apply), published once on the live client (QoS 1, not retained, only to `…/set`),
 * then confirmed by the panel republishing the value — or reported unconfirmed. Never retried.
 */
export class Commander {
  /** Publishes made, for tests and diagnostics. */
  publishes = 0;

  constructor(private readonly o: CommanderOptions) {}

  async setRelay(circuitId: string, state: SettableRelay, signal: AbortSignal): Promise<CommandOutcome> {
    refuseUnsettableRelay(state);
    this.commandable(circuitId, 'relay');
    return this.publishAndConfirm(circuitId, this.target(circuitId, 'relay'), state, signal);
  }

  async setPriority(
    circuitId: string,
    priority: SettablePriority,
    signal: AbortSignal,
  ): Promise<CommandOutcome> {
    if (priority !== 'NEVER' && priority !== 'SOC_THRESHOLD' && priority !== 'OFF_GRID') {
      throw new PanelError('refused-command', `invalid priority ${String(priority)}: command not sent`);
    }
    this.commandable(circuitId, 'priority');
    return this.publishAndConfirm(circuitId, this.target(circuitId, 'priority'), priority, signal);
  }

  async setChargeCurrent(circuitId: string, amps: number, signal: AbortSignal): Promise<CommandOutcome> {
    const refuse = (why: string) => new PanelError('refused-command', `${why}: command not sent`);
    if (typeof amps !== 'number' || !Number.isInteger(amps)) {
      throw refuse(`charge current ${String(amps)} is not a whole number of amps`);
    }
    const serial = this.liveSerial();
    if (serial === null) throw refuse(`not connected to the panel's broker`);
    const evse = this.o.model().parse(this.o.tree, serial).evse;
    if (!evse) throw refuse('this panel reports no EV charger');
    if (evse.feed !== circuitId) {
      throw refuse(
        `circuit ${circuitId} does not feed the EV charger (fed from ${evse.feed ?? 'an unknown circuit'})`,
      );
    }
    if (!evse.chargeCurrentSettable)
      throw refuse(`the EV charger's charge current is not settable on this firmware`);
    // The panel would clamp silently; a value outside the range is a mistake worth telling the flow about.
    const max = evse.maxChargeCurrentA;
    if (amps < MIN_CHARGE_CURRENT_A || (max !== null && amps > max)) {
      throw refuse(`charge current ${amps} A is outside ${MIN_CHARGE_CURRENT_A}…${max ?? '?'} A`);
    }
    const target = this.o.model().chargeCurrentTarget(this.o.tree, serial);
    if (!target) throw refuse('the EV charger has no charge-current property');
    return this.publishAndConfirm(circuitId, target, String(amps), signal);
  }

  /** The panel serial while a live client is there to publish on; null otherwise. */
  private liveSerial(): string | null {
    const s = this.o.session;
    return s.connected && s.client !== null ? s.serial : null;
  }

  /** The circuit as the panel last described it (no energy guarding), or a refusal before anything is sent. */
  private commandable(circuitId: string, what: 'relay' | 'priority'): Circuit {
    if (typeof circuitId !== 'string' || circuitId.trim() === '') {
      throw new PanelError('refused-command', 'no circuit id given: command not sent');
    }
    const serial = this.liveSerial();
    if (serial === null) {
      throw new PanelError('refused-command', `not connected to the panel's broker: command not sent`);
    }
    const model = this.o.model();
    const circuit = model.parse(this.o.tree, serial).circuits.find((c) => c.id === circuitId);
    if (!circuit) throw new PanelError('refused-command', `unknown circuit ${circuitId}: command not sent`);
    const label = `circuit ${circuitId} (${circuit.name ?? 'unnamed'})`;
    if (circuit.controllable !== true) {
      throw new PanelError('refused-command', `${label} is not user-controllable: command not sent`);
    }
    if (what === 'priority' && circuit.neverBackup === true) {
      throw new PanelError(
        'refused-command',
        `${label} has a locked priority (never-backup): command not sent`,
      );
    }
    if (model.circuitLost(this.o.tree, circuitId)) {
      throw new PanelError('refused-command', `${label} is lost (Homie $state): command not sent`);
    }
    return circuit;
  }

  private target(circuitId: string, what: 'relay' | 'priority'): CommandTarget {
    const serial = this.o.session.serial as string;
    return this.o.model().commandTopics(this.o.tree, serial, circuitId)[what];
  }

  /**
   * Publishes once (QoS 1, not retained) on the live client, then waits for the panel to republish the
   * requested value. Never retried: a lost reply leaves the outcome 'unconfirmed', not a second command.
   */
  private async publishAndConfirm(
    circuitId: string,
    target: CommandTarget,
    requested: string,
    signal: AbortSignal,
  ): Promise<CommandOutcome> {
    const session = this.o.session;
    const client = session.client;
    if (!client) {
      throw new PanelError('refused-command', `not connected to the panel's broker: command not sent`);
    }
    if (signal.aborted) throw session.abortError(signal, `command to circuit ${circuitId} not sent`);
    const observe = () => this.o.tree.device(target.device)?.values.get(target.key) ?? null;
    const alreadyThere = observe() === requested;

    let acked = false;
    let pubError: Error | null = null;
    this.publishes += 1;
    client.publish(target.set, requested, { qos: 1, retain: false }, (err) => {
      if (err) pubError = err;
      else acked = true;
      this.o.changes.notify();
    });

    const deadline = this.o.now() + this.o.commandTimeoutMs;
    for (;;) {
      const observed = observe();
      // A write of the value the circuit already has produces no change event: the PUBACK is all we get.
      if (observed === requested && (!alreadyThere || acked)) {
        return {
          result: 'confirmed',
          circuitId,
          requested,
          observed,
          ...(alreadyThere ? { note: 'the circuit was already in the requested state' } : {}),
        };
      }
      if (signal.aborted) throw session.abortError(signal, `no confirmation from circuit ${circuitId}`);
      const left = deadline - this.o.now();
      if (left <= 0 || pubError !== null || (!session.connected && !acked)) {
        const why =
          pubError !== null
            ? `publish failed (${(pubError as Error).message})`
            : !session.connected && !acked
              ? 'connection lost before the panel acknowledged the command'
              : `the panel did not report ${requested} within ${this.o.commandTimeoutMs} ms`;
        return { result: 'unconfirmed', circuitId, requested, observed, note: why };
      }
      await this.o.changes.wait(signal, left);
    }
  }
}
