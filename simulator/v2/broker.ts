/**
 * The panel's MQTT broker (MQTTS, port 8883 on a real panel): aedes behind node:tls, on loopback.
 *
 * - CONNECT: username must be the panel serial and the password one of the registered broker passwords;
 *   anything else gets CONNACK 5 "not authorized". aedes speaks MQTT 3.1 and 3.1.1 (protocol 3/4), not 5.
 * - PUBLISH from clients: only `…/set` topics are accepted; they are handed to `onCommand` and never
 *   retained. Any other topic (e.g. `$state`, the ACL hole of SPAN-API-Client-Docs#7) is refused (aedes
 *   then drops the client) and recorded in `violations`, and so is a CONNECT carrying a will or a
 *   retained `/set`, so tests can assert that a client never does any of it.
 * - The listener can be closed (every client disconnected) and reopened on the same port, or restarted on
 *   the same port with a new certificate (CA rotation). close() destroys every socket.
 */
import net from 'node:net';
import tls from 'node:tls';
import Aedes from 'aedes';
import type { AuthenticateError, Client, PublishPacket } from 'aedes';
import { listen, listenAgain } from '../listen';

export interface BrokerTls {
  certPem: string;
  keyPem: string;
}

export type ViolationKind = 'publish' | 'will' | 'retained-set';

export interface BrokerViolation {
  kind: ViolationKind;
  clientId: string;
  topic: string;
  retain: boolean;
  atMs: number;
}

export interface SimBrokerOptions {
  host: string;
  /** 0 = ephemeral. */
  port: number;
  tls: BrokerTls;
  /** Whether a CONNECT's credentials are acceptable (the password never leaves this callback). */
  authenticate(username: string | undefined, password: string | undefined): boolean;
  /** A `…/set` publish from a client. */
  onCommand(topic: string, payload: string, clientId: string): void;
}

const NOT_AUTHORIZED = 5;

export class SimBroker {
  readonly violations: BrokerViolation[] = [];
  /** CONNECTs refused for bad credentials. */
  authFailures = 0;
  /** TLS handshakes that failed (e.g. a client pinned to a rotated-away CA). */
  tlsFailures = 0;

  private readonly aedes: Aedes;
  private server: tls.Server;
  private readonly sockets = new Set<net.Socket>();
  private boundPort = 0;
  private closed = false;

  constructor(private readonly opts: SimBrokerOptions) {
    this.aedes = new Aedes({
      preConnect: (_client, packet, done) => {
        if (packet.will) this.record('will', packet.clientId, packet.will.topic, packet.will.retain === true);
        done(null, true);
      },
      authenticate: (_client, username, password, done) => {
        if (this.opts.authenticate(username, password?.toString('utf8'))) return done(null, true);
        this.authFailures++;
        const err = new Error('not authorized') as AuthenticateError;
        err.returnCode = NOT_AUTHORIZED;
        done(err, false);
      },
      authorizePublish: (client, packet, done) => this.authorizePublish(client, packet, done),
    });
    this.aedes.on('publish', (packet, client) => {
      if (!client || !packet.topic.endsWith('/set')) return;
      this.opts.onCommand(packet.topic, Buffer.from(packet.payload).toString('utf8'), client.id);
    });
    this.server = this.createServer(opts.tls);
  }

  get port(): number {
    return this.boundPort;
  }

  get listening(): boolean {
    return this.server.listening;
  }

  /** MQTT clients currently connected. */
  get clientCount(): number {
    return this.aedes.connectedClients;
  }

  async listen(): Promise<number> {
    await listen(this.server, this.opts.port, this.opts.host);
    const address = this.server.address();
    if (address && typeof address === 'object') this.boundPort = address.port;
    return this.boundPort;
  }

  /** Publishes a retained message as the panel (an empty payload deletes the retained message). */
  publish(topic: string, payload: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    const packet: PublishPacket = {
      cmd: 'publish',
      topic,
      payload: Buffer.from(payload, 'utf8'),
      qos: 0,
      retain: true,
      dup: false,
    };
    return new Promise((resolve, reject) =>
      this.aedes.publish(packet, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** Stops accepting connections and disconnects every client (the broker is down). */
  async stopListening(): Promise<void> {
    const closed = this.server.listening
      ? new Promise<void>((resolve) => this.server.close(() => resolve()))
      : Promise.resolve();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }

  /** Listens again on the same port (after stopListening). */
  async resume(): Promise<void> {
    if (this.closed || this.server.listening) return;
    await listenAgain(this.server, this.boundPort, this.opts.host);
  }

  /**
   * Restarts the listener on the same port with a new certificate; every client is disconnected. With
   * `listen: false` the new certificate is only installed (a broker that is down comes back with it).
   */
  async restart(material: BrokerTls, opts: { listen?: boolean } = {}): Promise<void> {
    await this.stopListening();
    this.server = this.createServer(material);
    if (!this.closed && opts.listen !== false) await listenAgain(this.server, this.boundPort, this.opts.host);
  }

  /** Destroys every socket, closes the listener and the broker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stopListening();
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
  }

  private createServer(material: BrokerTls): tls.Server {
    const server = tls.createServer({ cert: material.certPem, key: material.keyPem }, (socket) => {
      this.track(socket);
      this.aedes.handle(socket);
    });
    // Raw TCP sockets too, so close() also ends connections still in their TLS handshake.
    server.on('connection', (socket: net.Socket) => this.track(socket));
    server.on('tlsClientError', () => {
      this.tlsFailures++;
    });
    return server;
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
  }

  private authorizePublish(client: Client | null, packet: PublishPacket, done: (err?: Error | null) => void) {
    if (!client) return done(null); // the panel's own publishes
    const isWill = packet === (client as unknown as { will?: unknown }).will;
    if (isWill) return done(new Error('will messages are not accepted')); // recorded at CONNECT
    if (!packet.topic.endsWith('/set')) {
      this.record('publish', client.id, packet.topic, packet.retain === true);
      return done(new Error('clients may only publish …/set commands'));
    }
    if (packet.retain) {
      this.record('retained-set', client.id, packet.topic, true);
      packet.retain = false;
    }
    done(null);
  }

  private record(kind: ViolationKind, clientId: string, topic: string, retain: boolean): void {
    this.violations.push({ kind, clientId, topic, retain, atMs: Date.now() });
  }
}
