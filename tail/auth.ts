/**
 * Credentials: a bearer token at the HTTP upgrade (`Authorization: Bearer <token>` or a
 * `bearer.<token>` subprotocol beside `offramp.v2`) or in Hello.auth_token. Two kinds
 * (docs/SERVING.md, "Authentication"): a shared secret, or HMAC tokens
 * `base64url(JSON {"sub": string, "exp": unix seconds}) + "." + base64url(HMAC-SHA256(secret, first part))`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AuthOptions } from './options.js';

export { SUBPROTOCOL, KNOWN_SUBPROTOCOLS } from '../protocol/version.js';

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The bearer token from `Authorization: Bearer …` or a `bearer.<token>` subprotocol. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (h?.startsWith('Bearer ')) return h.slice(7).trim();
  const protocols = req.headers['sec-websocket-protocol'];
  for (const p of (protocols ?? '').split(',')) {
    const t = p.trim();
    if (t.startsWith('bearer.')) return t.slice(7);
  }
  return undefined;
}

/** Signs an HMAC token for `sub` valid until `exp` (Unix seconds). */
export function signToken(secret: string, sub: string, exp: number): string {
  const payload = Buffer.from(JSON.stringify({ sub, exp })).toString('base64url');
  return `${payload}.${createHmac('sha256', secret).update(payload).digest('base64url')}`;
}

/** Why a token is refused, or null when it is accepted. */
export function checkToken(auth: AuthOptions, token: string | undefined, nowSeconds = Date.now() / 1000): string | null {
  if (!token) return 'missing token';
  if (auth.type === 'shared-secret') return equal(token, auth.secret) ? null : 'wrong token';
  const [payload, sig] = token.split('.');
  if (!payload || !sig) return 'malformed token';
  if (!equal(sig, createHmac('sha256', auth.secret).update(payload).digest('base64url'))) return 'forged token';
  let claims: { exp?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
  } catch {
    return 'malformed token';
  }
  if (typeof claims.exp !== 'number' || claims.exp <= nowSeconds) return 'expired token';
  return null;
}
