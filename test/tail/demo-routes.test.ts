/** tail/demo-routes.ts alone: taking the edge away and back, the page's settings, nothing else. */
import { describe, expect, it } from 'vitest';
import type { EdgeConnection } from '../../tail/connection.js';
import { demoRoutes } from '../../tail/demo-routes.js';
import { newEdgeState } from '../../tail/lifecycle.js';
import { fakeReq, fakeRes } from './routes.js';

describe('demoRoutes', () => {
  it('POST /v1/demo/edge?away=true terminates every connection and marks the edge away; away=false (or none) brings it back', () => {
    const state = newEdgeState();
    let terminated = 0;
    for (let i = 0; i < 3; i++) state.connections.add({ terminate: () => void terminated++ } as unknown as EdgeConnection);
    const route = demoRoutes({ root: '/nowhere' }, state);
    const post = (url: string): unknown => {
      const r = fakeRes();
      expect(route(fakeReq('POST', url), r.res, url.split('?')[0]!)).toBe(true);
      expect(r.status).toBe(200);
      return r.json();
    };
    expect(post('/v1/demo/edge?away=true')).toEqual({ away: true });
    expect([state.edgeAway, terminated]).toEqual([true, 3]);
    expect(post('/v1/demo/edge?away=false')).toEqual({ away: false });
    expect([state.edgeAway, terminated]).toEqual([false, 3]);
    post('/v1/demo/edge?away=true');
    expect(post('/v1/demo/edge')).toEqual({ away: false });
  });

  it("GET and HEAD /v1/demo give the page's settings as they are at request time ({} when none)", () => {
    const web: { root: string; demo?: Record<string, unknown> } = { root: '/nowhere' };
    const route = demoRoutes(web, newEdgeState());
    const get = (method: string): unknown => {
      const r = fakeRes();
      expect(route(fakeReq(method, '/v1/demo'), r.res, '/v1/demo')).toBe(true);
      return r.json();
    };
    expect(get('GET')).toEqual({});
    web.demo = { links: ['lte'] };
    expect(get('GET')).toEqual({ links: ['lte'] });
    expect(get('HEAD')).toEqual({ links: ['lte'] });
  });

  it('leaves every other request to the next route', () => {
    const state = newEdgeState();
    const route = demoRoutes({ root: '/nowhere' }, state);
    for (const [method, path] of [
      ['GET', '/v1/demo/edge'],
      ['POST', '/v1/demo'],
      ['GET', '/healthz'],
      ['GET', '/'],
    ] as const) {
      const r = fakeRes();
      expect(route(fakeReq(method, path), r.res, path), `${method} ${path}`).toBe(false);
      expect(r.ended).toBe(false);
    }
    expect(state.edgeAway).toBe(false);
  });
});
