/**
 * The panel's registered API clients and their bearer tokens (v1 JWT-style access tokens). Tokens are
 * fake: random, JWT-shaped, only meaningful to this simulator.
 */
import { randomBytes } from 'node:crypto';

export interface IssuedToken {
  accessToken: string;
  tokenType: string;
  iatMs: number;
}

export interface RegisteredClient {
  name: string;
  description: string;
  issuedAtMs: number;
  token: string;
}

export class TokenRegistry {
  private readonly clients = new Map<string, RegisteredClient>();
  private readonly revoked = new Set<string>();

  constructor(private readonly now: () => number = Date.now) {}

  has(name: string): boolean {
    return this.clients.has(name);
  }

  /** Registers a client; throws Error('duplicate client name') when the name is taken. */
  register(name: string, description = ''): IssuedToken {
    if (this.clients.has(name)) throw new Error('duplicate client name');
    const iatMs = this.now();
    const token = makeJwtLikeToken(name, iatMs);
    this.clients.set(name, { name, description, issuedAtMs: iatMs, token });
    return { accessToken: token, tokenType: 'bearer', iatMs };
  }

  /** Registers a client under a caller-chosen token (the CLI's --token, test set-ups). */
  registerToken(
    token: string,
    name = `preset-${this.clients.size + 1}`,
    description = 'preset token',
  ): IssuedToken {
    const iatMs = this.now();
    this.revoked.delete(token);
    this.clients.set(name, { name, description, issuedAtMs: iatMs, token });
    return { accessToken: token, tokenType: 'bearer', iatMs };
  }

  /** Issues a token without the proximity window (tests, control API); picks a free name if none given. */
  issueAuth(name?: string, description = 'issued by the simulator'): IssuedToken {
    if (name !== undefined) return this.register(name, description);
    let i = this.clients.size + 1;
    while (this.clients.has(`sim-client-${i}`)) i++;
    return this.register(`sim-client-${i}`, description);
  }

  /** issueAuth, returning just the bearer token. */
  issue(name?: string, description?: string): string {
    return this.issueAuth(name, description).accessToken;
  }

  isValid(token: string): boolean {
    if (this.revoked.has(token)) return false;
    for (const c of this.clients.values()) if (c.token === token) return true;
    return false;
  }

  /**
   * Revokes one token, or every token when none is given (the "token revoked" fault). Revoked clients are
   * deleted, so their names can be registered again.
   * Returns how many tokens were revoked.
   */
  revoke(token?: string): number {
    let n = 0;
    for (const [name, c] of this.clients) {
      if (token === undefined || c.token === token) {
        this.revoked.add(c.token);
        this.clients.delete(name);
        n++;
      }
    }
    return n;
  }

  revokeClient(name: string): RegisteredClient | undefined {
    const c = this.clients.get(name);
    if (c) this.revoke(c.token);
    return c;
  }

  list(): RegisteredClient[] {
    return [...this.clients.values()];
  }

  get(name: string): RegisteredClient | undefined {
    return this.clients.get(name);
  }
}

function makeJwtLikeToken(name: string, iatMs: number): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const header = b64({ alg: 'HS256', typ: 'JWT' });
  const payload = b64({ sub: name, iat: Math.floor(iatMs / 1000), jti: randomBytes(8).toString('hex') });
  return `${header}.${payload}.${randomBytes(32).toString('base64url')}`;
}
