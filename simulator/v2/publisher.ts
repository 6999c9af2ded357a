/**
 * Publishes a Homie tree (built from the panel state on demand) to the broker, retained, and keeps it up
 * to date: `refresh()` republishes only the topics whose payload changed, so a command that changed
 * nothing produces no publish, and one that did produces exactly the changed property (how clients confirm).
 *
 * Lifecycle per Homie 5: `start()` and `replay()` publish `$state` init, then every `$description`, then
 * (optionally after a delay, so clients see descriptions before values, SPAN #259) every value, then
 * `$state` ready. `wipe()` clears retained values by publishing empty retained payloads, as the r202603
 * panel effectively did on a service restart, and stops updates until `replay()`.
 *
 * All publishes go through one queue so they reach the broker in order.
 */
import { deviceTopic, type HomieDeviceState, type SimHomieTree } from './sim-homie-common';

/** Publishes one retained message; an empty payload deletes the retained message. */
export type RetainedPublish = (topic: string, payload: string) => Promise<void>;

export class HomiePublisher {
  /** What the broker currently retains, as far as this publisher knows: topic → payload. */
  private readonly retained = new Map<string, string>();
  private queue: Promise<void> = Promise.resolve();
  private paused = false;
  private closed = false;
  private readonly sleepers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private tree: SimHomieTree | null = null;

  constructor(
    private readonly publish: RetainedPublish,
    private readonly build: () => SimHomieTree,
  ) {}

  /** The tree as last published (null before start). */
  get lastTree(): SimHomieTree | null {
    return this.tree;
  }

  /** True between wipe() and the end of replay(). */
  get isPaused(): boolean {
    return this.paused;
  }

  /** The payload the broker retains for a topic, as published by this publisher. */
  retainedPayload(topic: string): string | undefined {
    return this.retained.get(topic);
  }

  /** Every topic currently retained by this publisher. */
  retainedTopics(): string[] {
    return [...this.retained.keys()];
  }

  start(): Promise<void> {
    return this.announce(0);
  }

  /** Republishes what changed since the last publish (no-op while paused by a wipe). */
  refresh(): Promise<void> {
    if (this.paused || this.closed) return this.queue;
    const tree = this.build();
    this.tree = tree;
    const fresh = new Map<string, string>();
    const newDevices: string[] = [];
    for (const device of tree.devices) {
      if (!this.retained.has(deviceTopic(device.id, '$state'))) newDevices.push(device.id);
      fresh.set(deviceTopic(device.id, '$description'), JSON.stringify(device.description));
    }
    for (const device of tree.devices) {
      for (const [key, value] of device.values) fresh.set(deviceTopic(device.id, key), value);
    }
    for (const [topic, payload] of fresh) {
      if (this.retained.get(topic) !== payload) this.send(topic, payload);
    }
    // Properties (or devices) that are gone: clear their retained values.
    for (const topic of [...this.retained.keys()]) {
      if (!fresh.has(topic) && !topic.endsWith('/$state')) this.send(topic, '');
    }
    const live = new Set(tree.devices.map((d) => d.id));
    for (const topic of [...this.retained.keys()]) {
      const id = topic.split('/')[2];
      if (topic.endsWith('/$state') && id !== undefined && !live.has(id)) this.send(topic, '');
    }
    for (const id of newDevices) this.send(deviceTopic(id, '$state'), 'ready');
    return this.queue;
  }

  /** Sets `$state` of the root device (default) or of one device. */
  setState(state: HomieDeviceState, deviceId?: string): Promise<void> {
    const id = deviceId ?? this.tree?.rootId;
    if (id) this.send(deviceTopic(id, '$state'), state);
    return this.queue;
  }

  /**
   * Clears every retained property value (and, with `meta`, `$description` and `$state` too) and stops
   * updates until replay().
   */
  wipe(opts: { meta?: boolean } = {}): Promise<void> {
    this.paused = true;
    for (const topic of [...this.retained.keys()]) {
      const isMeta = topic.endsWith('/$state') || topic.endsWith('/$description');
      if (!isMeta || opts.meta) this.send(topic, '');
    }
    return this.queue;
  }

  /** Republishes the whole tree in Homie order ($state init, $description, values, $state ready). */
  replay(valuesDelayMs = 0): Promise<void> {
    return this.announce(valuesDelayMs);
  }

  /** Stops publishing; pending delays end at once. */
  close(): void {
    this.closed = true;
    for (const s of this.sleepers) {
      clearTimeout(s.timer);
      s.resolve();
    }
    this.sleepers.clear();
  }

  private announce(valuesDelayMs: number): Promise<void> {
    this.paused = true;
    const tree = this.build();
    this.tree = tree;
    for (const d of tree.devices) this.send(deviceTopic(d.id, '$state'), 'init');
    for (const d of tree.devices) this.send(deviceTopic(d.id, '$description'), JSON.stringify(d.description));
    if (valuesDelayMs > 0) this.enqueue(() => this.sleep(valuesDelayMs));
    this.enqueue(async () => {
      if (this.closed) return;
      // Values as they are now (the state may have moved on during the delay), then ready. Published from
      // inside this step so that the promise returned covers them.
      this.paused = false;
      const now = this.build();
      this.tree = now;
      const batch: Array<[string, string]> = [];
      for (const d of now.devices) {
        for (const [key, value] of d.values) batch.push([deviceTopic(d.id, key), value]);
      }
      for (const d of now.devices) batch.push([deviceTopic(d.id, '$state'), 'ready']);
      for (const [topic, payload] of batch) this.retained.set(topic, payload);
      for (const [topic, payload] of batch) {
        if (this.closed) return;
        await this.publish(topic, payload);
      }
    });
    return this.queue;
  }

  private send(topic: string, payload: string): void {
    if (payload === '') this.retained.delete(topic);
    else this.retained.set(topic, payload);
    this.enqueue(() => (this.closed ? undefined : this.publish(topic, payload)));
  }

  private enqueue(step: () => Promise<void> | void): void {
    this.queue = this.queue.then(step).catch(() => undefined);
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          this.sleepers.delete(sleeper);
          resolve();
        }, ms),
        resolve,
      };
      this.sleepers.add(sleeper);
    });
  }
}
