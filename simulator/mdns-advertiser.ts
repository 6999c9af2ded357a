/**
 * The simulated panel announces itself over mDNS like a real one: `_span._tcp` with its HTTP port and a
 * TXT record (serial, model, firmware), and with the v2 face `_ebus._tcp` and `_secure-mqtt._tcp` (the
 * broker port). It answers queries for those types with PTR + SRV + TXT + A records, the A record being
 * the address the simulator listens on (127.0.0.1 in tests).
 */
import makeMdns from 'multicast-dns';
import { MDNS_PORT, SERVICE_TYPES } from '../src/discovery/mdns';

export interface AdvertiseOptions {
  serial: string;
  model: string | null;
  firmware: string | null;
  address: string;
  httpPort: number;
  /** Set when the v2 face runs. */
  mqttPort: number | null;
  /** mDNS UDP port; default 5353. */
  port?: number;
}

export function advertisePanel(opts: AdvertiseOptions): { close(): Promise<void> } {
  const mdns = makeMdns({ port: opts.port ?? MDNS_PORT, multicast: true, loopback: true, reuseAddr: true });
  mdns.on('error', () => undefined); // announcing is best effort: the panel works without it
  const hostname = `span-${opts.serial.toLowerCase()}.local`;
  const services: { type: string; port: number }[] = [{ type: SERVICE_TYPES.span, port: opts.httpPort }];
  if (opts.mqttPort !== null) {
    services.push({ type: SERVICE_TYPES.ebus, port: opts.httpPort });
    services.push({ type: SERVICE_TYPES.mqtt, port: opts.mqttPort });
  }
  const txt = [`serial=${opts.serial}`, `model=${opts.model ?? ''}`, `firmware=${opts.firmware ?? ''}`];

  mdns.on('query', (query) => {
    const asked = new Set((query.questions ?? []).map((q) => String(q.name).toLowerCase()));
    const matching = services.filter((s) => asked.has(s.type));
    if (matching.length === 0) return;
    const answers = matching.flatMap((s) => {
      const instance = `span-${opts.serial.toLowerCase()}.${s.type}`;
      return [
        { name: s.type, type: 'PTR' as const, ttl: 120, data: instance },
        { name: instance, type: 'SRV' as const, ttl: 120, data: { target: hostname, port: s.port } },
        { name: instance, type: 'TXT' as const, ttl: 120, data: txt },
      ];
    });
    mdns.respond({ answers, additionals: [{ name: hostname, type: 'A', ttl: 120, data: opts.address }] });
  });

  return {
    close: () => new Promise<void>((resolve) => mdns.destroy(() => resolve())),
  };
}
