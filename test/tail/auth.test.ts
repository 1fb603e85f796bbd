/**
 * docs/PROTOCOL.md §8, authentication: a token at the upgrade (Authorization header or a
 * `bearer.<token>` subprotocol) or in Hello.auth_token; a wrong one at the upgrade is HTTP 401, a
 * wrong one in the Hello is UNAUTHENTICATED (even after a good upgrade). /healthz and /readyz stay
 * open; /metrics, /v1/models and bundle files need the token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedBundle } from '../../protocol/bundle.js';
import { signToken, type EdgeServer } from '../../tail/index.js';
import { connect, edges, errorOf, httpBase, loadBundle, splitRequest, TestClient, TINY, tinyGolden, type Golden } from './client.js';

const SECRET = 's3cret';
let bundle: LoadedBundle;
let golden: Golden;
let shared: EdgeServer;
let hmac: EdgeServer;
const pool = edges();

beforeAll(async () => {
  [bundle, golden] = await Promise.all([loadBundle(TINY), tinyGolden()]);
  [shared, hmac] = await Promise.all([pool.start({ auth: { type: 'shared-secret', secret: SECRET } }), pool.start({ auth: { type: 'hmac', secret: 'k' } })]);
});
afterAll(() => pool.closeAll());

const bearer = (token: string): { headers: Record<string, string> } => ({ headers: { Authorization: `Bearer ${token}` } });

/** Opens with `options`/`protocols`, says Hello with `authToken`; the HelloAck's type or the refusal's code. */
async function handshake(s: EdgeServer, authToken: string | undefined, options = {}, protocols?: string[]): Promise<string> {
  const c = await TestClient.open(s.url, options, protocols);
  const m = await c.hello(bundle, authToken === undefined ? {} : { authToken });
  if (m.type === 'helloAck') {
    // Accepted means usable: a request is answered.
    expect((await c.call(splitRequest(bundle, 1, golden.latent[0]!, 0))).type).toBe('answer');
    c.close();
    return 'accepted';
  }
  const e = errorOf(m);
  expect(e.id).toBe(0);
  expect(await c.closed).toEqual({ code: 1008, reason: e.name });
  return `${e.name}: ${e.message}`;
}

describe('shared secret', () => {
  it('refuses an upgrade carrying a wrong token with HTTP 401, in the header or as a subprotocol', async () => {
    await expect(TestClient.open(shared.url, bearer('nope'))).rejects.toThrow('HTTP 401');
    await expect(TestClient.open(shared.url, {}, ['offramp.v2', 'bearer.nope'])).rejects.toThrow('HTTP 401');
  });

  it('accepts a good upgrade token in either place; offramp.v2 is the subprotocol selected', async () => {
    expect(await handshake(shared, undefined, bearer(SECRET))).toBe('accepted');
    const c = await TestClient.open(shared.url, {}, ['offramp.v2', `bearer.${SECRET}`]);
    expect(c.ws.protocol).toBe('offramp.v2');
    c.close();
    expect(await handshake(shared, undefined, {}, ['offramp.v2', `bearer.${SECRET}`])).toBe('accepted');
  });

  it('accepts an upgrade without a token when the Hello carries a good one', async () => {
    expect(await handshake(shared, SECRET)).toBe('accepted');
  });

  it('refuses with UNAUTHENTICATED when no token came at all', async () => {
    expect(await handshake(shared, undefined)).toBe('UNAUTHENTICATED: Hello: missing token');
  });

  it('checks Hello.auth_token whenever present: a wrong one is UNAUTHENTICATED even after a good upgrade token', async () => {
    expect(await handshake(shared, 'wrong', bearer(SECRET))).toBe('UNAUTHENTICATED: Hello: wrong token');
    expect(await handshake(shared, 'wrong')).toBe('UNAUTHENTICATED: Hello: wrong token');
    expect(await handshake(shared, SECRET, bearer(SECRET))).toBe('accepted');
  });
});

describe('HMAC tokens', () => {
  const now = (): number => Math.floor(Date.now() / 1000);

  it('accepts a good token at the upgrade or in the Hello', async () => {
    const good = signToken('k', 'dev-1', now() + 60);
    expect(await handshake(hmac, undefined, bearer(good))).toBe('accepted');
    expect(await handshake(hmac, good)).toBe('accepted');
  });

  it('refuses forged, expired and malformed tokens: 401 at the upgrade, UNAUTHENTICATED in the Hello', async () => {
    const forged = signToken('other', 'dev-1', now() + 60);
    const expired = signToken('k', 'dev-1', now() - 1);
    const noExp = `${Buffer.from(JSON.stringify({ sub: 'dev-1' })).toString('base64url')}.`;
    for (const [token, why] of [
      [forged, 'forged token'],
      [expired, 'expired token'],
      ['not-a-token', 'malformed token'],
      [noExp, 'malformed token'],
    ] as const) {
      await expect(TestClient.open(hmac.url, bearer(token)), why).rejects.toThrow('HTTP 401');
      expect(await handshake(hmac, token)).toBe(`UNAUTHENTICATED: Hello: ${why}`);
    }
  });
});

describe('HTTP with auth on', () => {
  it('/healthz and /readyz are open', async () => {
    expect((await fetch(`${httpBase(shared)}/healthz`)).status).toBe(200);
    expect((await fetch(`${httpBase(shared)}/readyz`)).status).toBe(200);
  });

  it.each(['/metrics', '/v1/models', '/v1/models/tiny/0.2.0/manifest.json', '/v1/models/tiny/0.2.0/head.onnx'])(
    '%s is 401 without the token or with a wrong one, 200 with it',
    async (path) => {
      const url = `${httpBase(shared)}${path}`;
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, bearer('wrong'))).status).toBe(401);
      const ok = await fetch(url, bearer(SECRET));
      expect(ok.status).toBe(200);
      await ok.arrayBuffer();
    },
  );

  it('the same with HMAC tokens', async () => {
    const url = `${httpBase(hmac)}/v1/models`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, bearer(signToken('k', 'x', Math.floor(Date.now() / 1000) - 1)))).status).toBe(401);
    expect((await fetch(url, bearer(signToken('k', 'x', Math.floor(Date.now() / 1000) + 60)))).status).toBe(200);
  });
});

it('an edge without auth takes any token, or none', async () => {
  const open = await pool.start();
  const { c } = await connect(open.url, bundle, { authToken: 'anything' }, bearer('whatever'));
  c.close();
});
