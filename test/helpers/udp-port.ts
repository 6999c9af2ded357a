/** A UDP port nobody uses right now, so mDNS tests talk among themselves and not on 5353. */
import dgram from 'node:dgram';

export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
