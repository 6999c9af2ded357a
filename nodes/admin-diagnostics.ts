/**
 * GET span-panel/:id/diagnostics (permission span-panel.read): the diagnostics file of a deployed panel,
 * as a JSON download without any secret (see src/diagnostics/report.ts). Read-only: it reports what the
 * running connection already knows and never contacts the panel.
 */
import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import { buildDiagnostics } from '../src/diagnostics/report';
import { isPanelConfigNode } from './lib/panel-types';

export function registerDiagnosticsEndpoint(RED: NodeAPI): void {
  const read = RED.auth.needsPermission('span-panel.read');
  RED.httpAdmin.get('/span-panel/:id/diagnostics', read, (req: Request, res: Response) => {
    try {
      const node = RED.nodes.getNode(String(req.params.id));
      if (!isPanelConfigNode(node) || typeof node.diagnosticsInput !== 'function') {
        res.status(404).json({ ok: false, error: 'no deployed span-panel node with this id' });
        return;
      }
      const report = buildDiagnostics(node.diagnosticsInput());
      const serial = (report.panel as { serial?: string } | null)?.serial ?? node.id;
      const name = `span-diagnostics-${String(serial).replace(/[^\w.-]/g, '_')}.json`;
      res.set('Content-Disposition', `attachment; filename="${name}"`);
      res.set('Cache-Control', 'no-store');
      res.json(report);
    } catch (e) {
      RED.log.error(`span-panel diagnostics: ${(e as Error).message}`);
      if (!res.headersSent) res.status(500).json({ ok: false, error: 'internal error' });
    }
  });
}
