// JWT access tokens: HS256 with the cluster's shared secret, verified locally on every
// node. A verified token is cached until it expires, so the per-request cost after the
// first use is one map lookup.
import { SignJWT, jwtVerify } from 'jose';
import { ApiError } from '../errors.js';

const ISSUER = 'mom-broker';
const CACHE_LIMIT = 50_000;

export interface IssuedToken {
  token: string;
  /** ISO-8601 */
  expiresAt: string;
}

export interface TokenServiceOptions {
  secret: string;
  /** The token's audience: a token of another cluster is refused even if it shared the secret. */
  clusterId: string;
  ttlMs: number;
  now?: () => number;
}

export class TokenService {
  private readonly key: Uint8Array;
  private readonly verified = new Map<string, { username: string; expiresAtMs: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: TokenServiceOptions) {
    if (opts.secret.length === 0) throw new Error('JWT secret must not be empty');
    this.key = new TextEncoder().encode(opts.secret);
    this.now = opts.now ?? Date.now;
  }

  async issue(username: string): Promise<IssuedToken> {
    const nowMs = this.now();
    const expiresAtMs = nowMs + this.opts.ttlMs;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(username)
      .setIssuer(ISSUER)
      .setAudience(this.opts.clusterId)
      .setIssuedAt(Math.floor(nowMs / 1000))
      // JWT exp is in whole seconds; round down so the token never outlives expiresAt.
      .setExpirationTime(Math.floor(expiresAtMs / 1000))
      .sign(this.key);
    return { token, expiresAt: new Date(Math.floor(expiresAtMs / 1000) * 1000).toISOString() };
  }

  /** The username of a token verified earlier and not yet expired, without a promise
   *  (the common case); undefined when verify() has to decide. */
  cachedUser(token: string): string | undefined {
    const cached = this.verified.get(token);
    return cached !== undefined && cached.expiresAtMs > this.now() ? cached.username : undefined;
  }

  /** The username a token stands for; 401 unauthorized for anything else. */
  async verify(token: string): Promise<string> {
    const nowMs = this.now();
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.expiresAtMs > nowMs) return cached.username;
      this.verified.delete(token);
      throw new ApiError('unauthorized', 'token expired');
    }
    let username: string;
    let expiresAtMs: number;
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: this.opts.clusterId,
        requiredClaims: ['sub', 'exp'],
        currentDate: new Date(nowMs),
      });
      if (typeof payload.sub !== 'string' || payload.sub === '' || typeof payload.exp !== 'number') {
        throw new Error('bad claims');
      }
      username = payload.sub;
      expiresAtMs = payload.exp * 1000;
    } catch (err) {
      const expired = (err as { code?: string }).code === 'ERR_JWT_EXPIRED';
      throw new ApiError('unauthorized', expired ? 'token expired' : 'invalid token');
    }
    if (this.verified.size >= CACHE_LIMIT) {
      // Drop the oldest entry (Map keeps insertion order).
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(token, { username, expiresAtMs });
    return username;
  }
}

/** The token of an `Authorization: Bearer <jwt>` header. */
export function bearerToken(header: string | undefined): string {
  if (!header) throw new ApiError('unauthorized', 'missing Authorization: Bearer <token> header');
  const match = /^Bearer +([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*\.[A-Za-z0-9\-_]*) *$/i.exec(header);
  if (!match) throw new ApiError('unauthorized', 'malformed Authorization header; expected Bearer <token>');
  return match[1];
}
