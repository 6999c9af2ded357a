import { PanelError } from './errors';

/**
 * The one host parser: the config node, the editor endpoints and the transports all read "host[:port]"
 * ("[v6]:port" for IPv6) this way. Rejects anything that is not a plain host: no scheme, path or credentials.
 * The hostname comes back without brackets. Throws PanelError('client') with a message safe to show.
 */
export function parseHost(input: string): { hostname: string; port: number | null } {
  const s = input.trim();
  if (!s) throw new PanelError('client', 'no panel host configured');
  if (/[/@?#\s]/.test(s))
    throw new PanelError('client', `"${s}" is not a host name or IP address (no scheme or path)`);
  const v6 = /^\[([0-9a-f:.]+)\](?::(\d+))?$/i.exec(s);
  if (v6) return { hostname: v6[1], port: v6[2] ? Number(v6[2]) : null };
  const m = /^([^:]+)(?::(\d+))?$/.exec(s);
  if (!m) throw new PanelError('client', `"${s}" is not a host name or IP address`);
  const port = m[2] ? Number(m[2]) : null;
  if (port !== null && (port < 1 || port > 65535))
    throw new PanelError('client', `port ${port} out of range`);
  return { hostname: m[1], port };
}
