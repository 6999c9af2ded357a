/**
 * Counts what the simulated panel received, so tests can assert "the panel got N requests" (per method and
 * path, how many came on a reused keep-alive socket, how many were dropped or answered by a fault).
 */
export interface RouteCount {
  count: number;
  /** Of those, arrived on a socket that had already carried a request. */
  reused: number;
}

export interface StatsSnapshot {
  total: number;
  reused: number;
  /** Requests dropped without a response because the socket had been silently forgotten. */
  dropped: number;
  /** Requests answered (or swallowed) by an injected fault. */
  faulted: number;
  /** TCP connections accepted. */
  connections: number;
  /** Keyed 'GET /api/v1/status' (path without the query string). */
  byRoute: Record<string, RouteCount>;
}

export class RequestStats {
  private routes = new Map<string, RouteCount>();
  total = 0;
  reused = 0;
  dropped = 0;
  faulted = 0;

  /** `connections` is read from the connection tracker when a snapshot is taken. */
  constructor(private readonly connectionsAccepted: () => number = () => 0) {}

  private connectionsAtReset = 0;

  record(method: string, path: string, reused: boolean): void {
    const key = routeKey(method, path);
    const entry = this.routes.get(key) ?? { count: 0, reused: 0 };
    entry.count++;
    if (reused) entry.reused++;
    this.routes.set(key, entry);
    this.total++;
    if (reused) this.reused++;
  }

  recordDropped(method: string, path: string, reused: boolean): void {
    this.record(method, path, reused);
    this.dropped++;
  }

  recordFaulted(): void {
    this.faulted++;
  }

  /** Requests seen for a method and path (both optional: all methods / all paths). */
  count(method?: string, path?: string): number {
    if (!method && !path) return this.total;
    let n = 0;
    for (const [key, entry] of this.routes) {
      const [m, p] = splitKey(key);
      if ((!method || m === method.toUpperCase()) && (!path || p === stripQuery(path))) n += entry.count;
    }
    return n;
  }

  snapshot(): StatsSnapshot {
    const byRoute: Record<string, RouteCount> = {};
    for (const [key, entry] of this.routes) byRoute[key] = { ...entry };
    return {
      total: this.total,
      reused: this.reused,
      dropped: this.dropped,
      faulted: this.faulted,
      connections: this.connectionsAccepted() - this.connectionsAtReset,
      byRoute,
    };
  }

  reset(): void {
    this.routes = new Map();
    this.total = 0;
    this.reused = 0;
    this.dropped = 0;
    this.faulted = 0;
    this.connectionsAtReset = this.connectionsAccepted();
  }
}

function routeKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${stripQuery(path)}`;
}

function splitKey(key: string): [string, string] {
  const space = key.indexOf(' ');
  return [key.slice(0, space), key.slice(space + 1)];
}

export function stripQuery(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? path : path.slice(0, q);
}
