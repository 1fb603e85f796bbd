/** tail/http-routes.ts alone: the core routes on fake requests, the model list and which bundle files a device may fetch. */
import { beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../tail/auth.js';
import { bundleFileSha, coreRoutes, modelList, requestPath, serveBundleFile, type RouteContext } from '../../tail/http-routes.js';
import { newEdgeState } from '../../tail/lifecycle.js';
import { createMetrics } from '../../tail/metrics.js';
import { loadRegistry, type ServedBundle } from '../../tail/registry.js';
import { FIXTURES } from './client.js';
import { fakeReq, fakeRes } from './routes.js';

let registry: Map<string, ServedBundle>;
let tiny: ServedBundle;
beforeAll(async () => {
  registry = await loadRegistry(FIXTURES);
  tiny = registry.get('tiny@0.2.0')!;
});

function context(over: Partial<RouteContext> = {}): RouteContext {
  return { registry, metrics: createMetrics(), opts: {}, state: newEdgeState(), ...over };
}

describe('requestPath', () => {
  it('drops the query', () => {
    expect(requestPath(fakeReq('GET', '/readyz?x=1'))).toBe('/readyz');
    expect(requestPath(fakeReq('GET', '/'))).toBe('/');
  });
});

describe('coreRoutes', () => {
  it('answers 405 to anything but GET and HEAD, whatever the path', () => {
    const route = coreRoutes(context());
    for (const [method, path] of [
      ['POST', '/healthz'],
      ['PUT', '/nope'],
      ['DELETE', '/v1/models'],
    ] as const) {
      const r = fakeRes();
      expect(route(fakeReq(method, path), r.res, path)).toBe(true);
      expect([r.status, r.json()]).toEqual([405, { error: 'method not allowed' }]);
    }
  });

  it('answers /healthz always and /readyz by state: ready, draining, starting (stopped)', () => {
    const state = newEdgeState();
    const route = coreRoutes(context({ state }));
    const get = (path: string): [number, unknown] => {
      const r = fakeRes();
      expect(route(fakeReq('GET', path), r.res, path)).toBe(true);
      return [r.status, r.json()];
    };
    expect(get('/healthz')).toEqual([200, { status: 'ok' }]);
    expect(get('/readyz')).toEqual([200, { status: 'ready' }]);
    state.draining = true;
    expect(get('/readyz')).toEqual([503, { status: 'draining' }]);
    expect(get('/healthz')).toEqual([200, { status: 'ok' }]);
    state.draining = false;
    state.ready = false;
    expect(get('/readyz')).toEqual([503, { status: 'starting' }]);
  });

  it('leaves paths it does not serve to the next route', () => {
    const route = coreRoutes(context());
    for (const path of ['/', '/nope', '/v1/demo', '/v1/models/tiny']) {
      const r = fakeRes();
      expect(route(fakeReq('GET', path), r.res, path), path).toBe(false);
      expect(r.ended).toBe(false);
    }
  });

  it('lists the served bundles at /v1/models', () => {
    const r = fakeRes();
    coreRoutes(context())(fakeReq('GET', '/v1/models'), r.res, '/v1/models');
    expect([r.status, r.json()]).toEqual([200, { models: modelList(registry) }]);
  });

  it('guards /metrics and /v1/models with the token when auth is on; probes stay open', () => {
    const auth = { type: 'hmac', secret: 's3cret' } as const;
    const route = coreRoutes(context({ opts: { auth } }));
    const good = { authorization: `Bearer ${signToken('s3cret', 'dev', Date.now() / 1000 + 60)}` };
    for (const path of ['/metrics', '/v1/models', '/v1/models/tiny/0.2.0/manifest.json']) {
      for (const headers of [{}, { authorization: 'Bearer forged.token' }] as Record<string, string>[]) {
        const r = fakeRes();
        expect(route(fakeReq('GET', path, headers), r.res, path)).toBe(true);
        expect([r.status, r.json()], path).toEqual([401, { error: 'unauthorized' }]);
      }
    }
    const models = fakeRes();
    route(fakeReq('GET', '/v1/models', good), models.res, '/v1/models');
    expect(models.status).toBe(200);
    for (const path of ['/healthz', '/readyz']) {
      const r = fakeRes();
      route(fakeReq('GET', path), r.res, path);
      expect(r.status, path).toBe(200);
    }
  });
});

describe('modelList', () => {
  it("gives each bundle's id, version, manifest sha256, task, rate points and timing-only flag", () => {
    expect(modelList(registry)).toEqual([
      { id: 'tiny', version: '0.2.0', manifestSha256: tiny.bundle.manifestSha256, task: 'classification', ratePoints: ['s1', 'u4', 'f16'], timingOnly: false },
    ]);
  });
});

describe('bundleFileSha', () => {
  it('knows the manifest, the head and full graphs and the entropy tables, nothing else', () => {
    const m = tiny.bundle.manifest;
    expect(bundleFileSha(tiny, 'manifest.json')).toBe(tiny.bundle.manifestSha256);
    expect(bundleFileSha(tiny, m.graphs.head.file)).toBe(m.graphs.head.sha256);
    expect(bundleFileSha(tiny, m.graphs.full.file)).toBe(m.graphs.full.sha256);
    expect(bundleFileSha(tiny, 'entropy-s1.json')).toBe('8c88a424db237f8451bdca7752aee67562d4f4b1cd9aa51973422afd34128f60');
    // The tail never leaves the edge.
    for (const name of [m.graphs.tail.file, 'golden.json', '../manifest.json', '']) expect(bundleFileSha(tiny, name), name).toBeUndefined();
  });
});

describe('serveBundleFile', () => {
  it('answers 304 to a matching If-None-Match without reading the file, 404 to an unknown bundle or file', () => {
    const etag = `"${tiny.bundle.manifestSha256}"`;
    const hit = fakeRes();
    serveBundleFile(registry, fakeReq('GET', '/', { 'if-none-match': etag }), hit.res, 'tiny', '0.2.0', 'manifest.json');
    expect(hit.status).toBe(304);
    expect(hit.headers).toEqual({
      ETag: etag,
      'Cache-Control': 'public, max-age=31536000, immutable',
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Expose-Headers': 'ETag',
    });
    for (const [id, version, name] of [
      ['tiny', '9.9.9', 'manifest.json'],
      ['nope', '0.2.0', 'manifest.json'],
      ['tiny', '0.2.0', 'golden.json'],
    ] as const) {
      const r = fakeRes();
      serveBundleFile(registry, fakeReq('GET', '/'), r.res, id, version, name);
      expect([r.status, r.json()]).toEqual([404, { error: 'not found' }]);
    }
  });
});
