/**
 * Finds SPAN panels announced on the local network over mDNS / DNS-SD: panels announce `_span._tcp`
 * (every firmware) and, with the v2 API, `_ebus._tcp` and `_secure-mqtt._tcp`. One browse asks for the
 * three service types (twice: mDNS is UDP and may lose a packet), collects the PTR / SRV / TXT / A records
 * of the answers for a bounded time, then closes its socket. Read-only: it never contacts a panel.
 *
 * Built on multicast-dns (pure JavaScript, three small dependencies; installs anywhere Node runs).
 */
import makeMdns from 'multicast-dns';
import type { ApiKind } from '../model/panel';

export const SERVICE_TYPES = {
  span: '_span._tcp.local',
  ebus: '_ebus._tcp.local',
  mqtt: '_secure-mqtt._tcp.local',
} as const;

export const MDNS_PORT = 5353;

export interface DiscoveredPanel {
  /** Panel serial from the TXT record or the announced name; null when neither says. */
  serial: string | null;
  /** What to put in span-panel's Host field: address, plus `:port` when the HTTP API is not on 80. */
  host: string;
  address: string;
  /** The announced host name, e.g. span-nj-2316-xxxx.local. */
  hostname: string | null;
  /** v2 when the panel announces the v2 services (eBus, secure MQTT), else v1. */
  api: ApiKind;
  /** The MQTTS port announced with _secure-mqtt._tcp (v2). */
  mqttPort: number | null;
  services: string[];
}

export interface DiscoveryOptions {
  /** How long to listen for answers (ms). */
  timeoutMs: number;
  /** mDNS UDP port (5353; tests use another one so they stay to themselves). */
  port?: number;
  signal?: AbortSignal;
}

interface Instance {
  type: string;
  name: string;
  target?: string;
  port?: number;
  txt: Record<string, string>;
  from?: string;
}

const SERIAL = /\bnj-\d{4}-[0-9a-z]+\b/i;

export function discoverPanels(opts: DiscoveryOptions): Promise<DiscoveredPanel[]> {
  return new Promise((resolve, reject) => {
    const mdns = makeMdns({ port: opts.port ?? MDNS_PORT, multicast: true, loopback: true, reuseAddr: true });
    const instances = new Map<string, Instance>();
    const addresses = new Map<string, string[]>();
    const questions = Object.values(SERVICE_TYPES).map((name) => ({ name, type: 'PTR' as const }));
    let settled = false;

    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(again);
      clearTimeout(done);
      opts.signal?.removeEventListener('abort', onAbort);
      mdns.removeAllListeners('response');
      mdns.destroy();
      if (error) reject(error);
      else resolve(assemble(instances, addresses));
    };
    const onAbort = () => finish(new Error('discovery cancelled'));

    mdns.on('error', (e: Error) => finish(e));
    mdns.on('response', (packet, rinfo) => {
      for (const rr of [...(packet.answers ?? []), ...(packet.additionals ?? [])]) {
        const name = String(rr.name).toLowerCase();
        if (rr.type === 'PTR' && (Object.values(SERVICE_TYPES) as string[]).includes(name)) {
          const instance = String(rr.data).toLowerCase();
          const i = instances.get(instance) ?? { type: name, name: instance, txt: {} };
          i.from ??= rinfo.address;
          instances.set(instance, i);
        } else if (rr.type === 'SRV') {
          const i = instances.get(name) ?? { type: typeOf(name), name, txt: {} };
          i.target = String(rr.data.target).toLowerCase();
          i.port = rr.data.port;
          i.from ??= rinfo.address;
          instances.set(name, i);
        } else if (rr.type === 'TXT') {
          const i = instances.get(name) ?? { type: typeOf(name), name, txt: {} };
          for (const entry of [rr.data].flat()) {
            const s = Buffer.isBuffer(entry) ? entry.toString('utf8') : String(entry);
            const eq = s.indexOf('=');
            if (eq > 0) i.txt[s.slice(0, eq).toLowerCase()] = s.slice(eq + 1);
          }
          instances.set(name, i);
        } else if (rr.type === 'A') {
          const list = addresses.get(name) ?? [];
          if (!list.includes(String(rr.data))) list.push(String(rr.data));
          addresses.set(name, list);
        }
      }
    });
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort);
    mdns.query({ questions });
    const again = setTimeout(() => mdns.query({ questions }), Math.min(1000, opts.timeoutMs / 3));
    const done = setTimeout(() => finish(), opts.timeoutMs);
  });
}

function typeOf(instance: string): string {
  return Object.values(SERVICE_TYPES).find((t) => instance.endsWith(`.${t}`)) ?? '';
}

/** One entry per panel (grouped by announced host name, else by address), v2 when it offers v2 services. */
function assemble(instances: Map<string, Instance>, addresses: Map<string, string[]>): DiscoveredPanel[] {
  const panels = new Map<string, { items: Instance[]; address: string; hostname: string | null }>();
  for (const i of instances.values()) {
    if (!i.type) continue;
    const address = (i.target && addresses.get(i.target)?.[0]) ?? i.from;
    if (!address) continue;
    const key = i.target ?? address;
    const p = panels.get(key) ?? { items: [], address, hostname: i.target ?? null };
    p.items.push(i);
    panels.set(key, p);
  }
  const out: DiscoveredPanel[] = [];
  for (const p of panels.values()) {
    const byType = (t: string) => p.items.find((i) => i.type === t);
    const span = byType(SERVICE_TYPES.span);
    const mqtt = byType(SERVICE_TYPES.mqtt);
    const ebus = byType(SERVICE_TYPES.ebus);
    const http = span ?? ebus;
    const txtSerial = p.items.map((i) => i.txt.serial).find(Boolean);
    const serial =
      txtSerial ?? SERIAL.exec(`${p.hostname ?? ''} ${p.items.map((i) => i.name).join(' ')}`)?.[0] ?? null;
    const port = http?.port;
    out.push({
      serial,
      host: port && port !== 80 ? `${p.address}:${port}` : p.address,
      address: p.address,
      hostname: p.hostname,
      api: mqtt || ebus ? 'v2' : 'v1',
      mqttPort: mqtt?.port ?? null,
      services: [...new Set(p.items.map((i) => i.type))].sort(),
    });
  }
  return out.sort((a, b) => String(a.serial).localeCompare(String(b.serial)));
}
