import type { SettablePriority, SettableRelay } from '../model/panel';
import { PanelError } from '../transport/errors';
import type { CommandOutcome, PanelTransport } from '../transport/transport';
import { withDeadline } from '../util/deadline';
import { KeyedQueue } from './keyed-queue';
import type { HealthState } from './types';

type Command = (t: PanelTransport, signal: AbortSignal) => Promise<CommandOutcome>;

export interface CommandHost {
  transport(): PanelTransport | null;
  state(): HealthState;
  /** Longest wait for a command's outcome before it is reported unknown. */
  deadlineMs: number;
  /** A command settled: subscribers should see the new state soon, not one interval later. */
  settled(): void;
}

/**
 * Sends relay, priority and charge-current commands through the current transport. Commands to one circuit
 * run one at a time, in arrival order (see KeyedQueue); each is bounded by a deadline.
 */
export class CommandRunner {
  private readonly queue = new KeyedQueue();

  constructor(private readonly host: CommandHost) {}

  setRelay(circuitId: string, state: SettableRelay): Promise<CommandOutcome> {
    return this.run(circuitId, (t, signal) => t.setRelay(circuitId, state, signal));
  }

  setPriority(circuitId: string, priority: SettablePriority): Promise<CommandOutcome> {
    return this.run(circuitId, (t, signal) => t.setPriority(circuitId, priority, signal));
  }

  setChargeCurrent(circuitId: string, amps: number): Promise<CommandOutcome> {
    return this.run(circuitId, (t, signal) => {
      if (!t.setChargeCurrent) {
        throw new PanelError('refused-command', 'this panel API has no EV charger control: command not sent');
      }
      return t.setChargeCurrent(circuitId, amps, signal);
    });
  }

  private run(circuitId: string, command: Command): Promise<CommandOutcome> {
    return this.queue.run(String(circuitId), () => this.now(command));
  }

  private async now(command: Command): Promise<CommandOutcome> {
    const t = this.host.transport();
    const state = this.host.state();
    if (!t || state === 'stopped') {
      throw new PanelError('refused-command', `panel is ${state}: command not sent`);
    }
    try {
      return await withDeadline(
        this.host.deadlineMs,
        () => new PanelError('timeout', 'command outcome unknown: no answer in time'),
        (signal) => command(t, signal),
      );
    } finally {
      this.host.settled();
    }
  }
}
