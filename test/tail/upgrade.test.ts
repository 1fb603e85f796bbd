/** tail/upgrade.ts's checks alone, in their order: away or draining, Origin, token. */
import { describe, expect, it } from 'vitest';
import { signToken } from '../../tail/auth.js';
import { checkUpgrade } from '../../tail/upgrade.js';
import { fakeReq } from './routes.js';

const open = { draining: false, edgeAway: false };
const hmac = { type: 'hmac', secret: 's3cret' } as const;
const good = signToken('s3cret', 'dev', Date.now() / 1000 + 60);

describe('checkUpgrade', () => {
  it('accepts anything when no origins or auth are set (authenticated: nothing is needed)', () => {
    expect(checkUpgrade(fakeReq('GET', '/', { origin: 'https://any.example' }), {}, open)).toEqual({ authenticated: true });
  });

  it('refuses with 503 while draining or taken away, before any other check', () => {
    const req = fakeReq('GET', '/', { origin: 'https://evil.example', authorization: 'Bearer wrong' });
    const opts = { origins: ['https://app.example'], auth: hmac };
    expect(checkUpgrade(req, opts, { draining: true, edgeAway: false })).toEqual({ refuse: 503, text: 'Service Unavailable' });
    expect(checkUpgrade(req, opts, { draining: false, edgeAway: true })).toEqual({ refuse: 503, text: 'Service Unavailable' });
  });

  it('refuses a foreign Origin with 403; a request without one (not a browser) passes', () => {
    const opts = { origins: ['https://app.example'] };
    expect(checkUpgrade(fakeReq('GET', '/', { origin: 'https://evil.example' }), opts, open)).toEqual({ refuse: 403, text: 'Forbidden' });
    expect(checkUpgrade(fakeReq('GET', '/', { origin: 'https://app.example' }), opts, open)).toEqual({ authenticated: true });
    expect(checkUpgrade(fakeReq('GET', '/'), opts, open)).toEqual({ authenticated: true });
  });

  it('with auth: a bad token is 401 with the reason, a good one authenticates, none leaves it to the Hello', () => {
    const opts = { auth: hmac };
    expect(checkUpgrade(fakeReq('GET', '/', { authorization: 'Bearer a.b' }), opts, open)).toEqual({ refuse: 401, text: 'Unauthorized', why: 'forged token' });
    expect(checkUpgrade(fakeReq('GET', '/', { authorization: `Bearer ${good}` }), opts, open)).toEqual({ authenticated: true });
    expect(checkUpgrade(fakeReq('GET', '/', { 'sec-websocket-protocol': `offramp.v2, bearer.${good}` }), opts, open)).toEqual({ authenticated: true });
    expect(checkUpgrade(fakeReq('GET', '/'), opts, open)).toEqual({ authenticated: false });
  });
});
