import type { Duplex } from 'node:stream';

/**
 * A maximum incoming MQTT packet size for MQTT 3.1.1. MQTT.js only enforces `properties.maximumPacketSize`
 * for MQTT 5, and its parser otherwise buffers whatever length a packet header announces (up to 256 MB).
 * This watches the raw byte stream from the broker, reads each packet's fixed header (1 type byte, 1–4
 * "remaining length" bytes) and destroys the stream as soon as a header announces more than the limit —
 * before the body is buffered.
 *
 * The largest real value is the panel's flat `$description`; see DEFAULT_MAX_PACKET_BYTES for the figures
 * and the margin.
 */

/**
 * The simulator's flat `$description` (built from the r202603 schema) is 40.1 KB for its 22 circuits:
 * 1.6 KB per circuit plus 4.3 KB of panel nodes, so a 48-circuit panel's is about 83 KB (parent/child
 * descriptions are far smaller: 6.6 KB for the panel, 2.4 KB per circuit device). 1 MiB leaves a margin
 * of 12× for firmware that describes more, and still stops a broker announcing hundreds of megabytes.
 */
export const DEFAULT_MAX_PACKET_BYTES = 1024 * 1024;

export const PACKET_TOO_LARGE_CODE = 'ERR_MQTT_PACKET_TOO_LARGE';

export class PacketTooLargeError extends Error {
  readonly code = PACKET_TOO_LARGE_CODE;
  constructor(
    readonly announcedBytes: number,
    readonly maxBytes: number,
  ) {
    super(`the broker sent a packet of ${announcedBytes} bytes (limit ${maxBytes})`);
    this.name = 'PacketTooLargeError';
  }
}

/** Tracks MQTT packet boundaries in a byte stream; `feed` returns an error once a packet is too large. */
export class MqttPacketSizeGuard {
  /** 'type': next byte starts a packet; 'length': reading remaining length; 'body': skipping its body. */
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private bodyLeft = 0;

  constructor(readonly maxBytes: number) {}

  feed(chunk: Buffer): PacketTooLargeError | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'body') {
        const take = Math.min(this.bodyLeft, chunk.length - i);
        this.bodyLeft -= take;
        i += take;
        if (this.bodyLeft === 0) this.state = 'type';
        continue;
      }
      const byte = chunk[i++];
      if (this.state === 'type') {
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes += 1;
      if (byte & 0x80 && this.lengthBytes < 4) continue;
      // Header complete (a fifth length byte is malformed; MQTT.js' parser rejects it).
      const total = 1 + this.lengthBytes + this.length;
      if (total > this.maxBytes) return new PacketTooLargeError(total, this.maxBytes);
      this.bodyLeft = this.length;
      this.state = this.length === 0 ? 'type' : 'body';
    }
    return null;
  }
}

/** Destroys `stream` with a PacketTooLargeError when the broker announces a packet over the limit. */
export function limitIncomingPackets(stream: Duplex, maxBytes: number): void {
  const guard = new MqttPacketSizeGuard(maxBytes);
  const onData = (chunk: Buffer) => {
    const err = guard.feed(chunk);
    if (err) {
      stream.off('data', onData);
      stream.destroy(err);
    }
  };
  // Registered before MQTT.js pipes the stream into its parser, so it sees every chunk first.
  stream.on('data', onData);
}
