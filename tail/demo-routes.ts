/**
 * Demo mode's routes (`offramp serve --web`), apart from the edge's own: the page's settings at
 * `GET /v1/demo`, and `POST /v1/demo/edge?away=true|false`, which takes the edge away (every
 * WebSocket closed, upgrades refused with 503) and brings it back, so the page can show its
 * devices falling back. Not mounted without `web`.
 */
import type { EdgeServerOptions } from './options.js';
import { sendJson, type Route } from './http-routes.js';
import type { EdgeState } from './lifecycle.js';

/** The demo routes; false for anything else. `web.demo` is read at request time (it may be filled in after start). */
export function demoRoutes(web: NonNullable<EdgeServerOptions['web']>, state: EdgeState): Route {
  return (req, res, path) => {
    if (req.method === 'POST' && path === '/v1/demo/edge') {
      state.edgeAway = new URL(req.url ?? '/', 'http://x').searchParams.get('away') === 'true';
      if (state.edgeAway) for (const c of state.connections) c.terminate();
      sendJson(res, 200, { away: state.edgeAway });
      return true;
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && path === '/v1/demo') {
      sendJson(res, 200, web.demo ?? {});
      return true;
    }
    return false;
  };
}
