/**
 * GET span-panel/discover?timeoutMs=3000 (permission span-panel.read): the SPAN panels announced on the
 * local network over mDNS, for the span-panel dialog's "Find panels" button. Read-only (it listens, it
 * never contacts a panel), time-bounded (0.5–10 s) and single-flight: concurrent requests share one browse.
 * SPAN_MDNS_PORT moves the browse off UDP 5353 (the tests use it to stay among themselves).
 */
import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import { discoverPanels, MDNS_PORT, type DiscoveredPanel } from '../src/discovery/mdns';

const DEFAULT_TIMEOUT_MS = 3000;
let inFlight: Promise<DiscoveredPanel[]> | null = null;

export function registerDiscoveryEndpoint(RED: NodeAPI): void {
  const read = RED.auth.needsPermission('span-panel.read');
  RED.httpAdmin.get('/span-panel/discover', read, (req: Request, res: Response) => {
    const asked = Number(req.query.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const timeoutMs = Number.isFinite(asked) ? Math.min(10_000, Math.max(500, asked)) : DEFAULT_TIMEOUT_MS;
    const port = Number(process.env.SPAN_MDNS_PORT) || MDNS_PORT;
    inFlight ??= discoverPanels({ timeoutMs, port }).finally(() => {
      inFlight = null;
    });
    inFlight.then(
      (panels) => res.json({ ok: true, panels }),
      (e: unknown) =>
        res.status(502).json({ ok: false, error: `mDNS discovery failed: ${(e as Error).message}` }),
    );
  });
}
