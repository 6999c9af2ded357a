import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { brokerIdentityCheck } from './mqtt-errors';
import { limitIncomingPackets } from './packet-limit';

export interface MqttClientSpec {
  hostname: string;
  port: number;
  /** The panel CA: the only one trusted. */
  ca: string;
  /** The panel serial the broker certificate must name (see brokerIdentityCheck). */
  expectedSerial: () => string | null;
  username: string;
  password: string;
  keepaliveS: number;
  connectTimeoutMs: number;
  maxPacketBytes: number;
}

/**
 * One MQTT.js client for one connection attempt, not yet connected (call `client.connect()`): MQTTS to the
 * configured host, only the panel CA trusted, a fresh client id, a clean session, MQTT.js' own reconnect
 * and resubscribe off (a client is never reused), and incoming packets limited in size.
 */
export function openMqttClient(spec: MqttClientSpec): MqttClient {
  // MQTT.js hands these options to tls.connect (checkServerIdentity included) but does not type all of them.
  const options: IClientOptions & Pick<ConnectionOptions, 'checkServerIdentity'> = {
    protocol: 'mqtts',
    host: spec.hostname,
    port: spec.port,
    ca: [spec.ca],
    rejectUnauthorized: true,
    checkServerIdentity: brokerIdentityCheck(spec.hostname, spec.expectedSerial),
    username: spec.username,
    password: spec.password,
    clientId: `node-red-span-${randomBytes(6).toString('hex')}`,
    protocolVersion: 4,
    clean: true,
    keepalive: spec.keepaliveS,
    connectTimeout: spec.connectTimeoutMs,
    reconnectPeriod: 0,
    resubscribe: false,
    queueQoSZero: false,
    // The stream gets its packet-size guard before MQTT.js starts reading from it.
    manualConnect: true,
  };
  const client = mqtt.connect(options);
  // MQTT.js keeps its stream factory private; wrapping it is the one place to see the raw bytes.
  const builder = client as unknown as { streamBuilder: (c: MqttClient) => Duplex };
  const buildStream = builder.streamBuilder;
  builder.streamBuilder = (c) => {
    const stream = buildStream(c);
    limitIncomingPackets(stream, spec.maxPacketBytes);
    return stream;
  };
  return client;
}
