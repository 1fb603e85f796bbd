/**
 * offramp/tail — the edge server: a hardened WebSocket tail server with dynamic batching.
 *
 * @example
 * ```ts
 * import { createEdgeServer } from 'offramp/tail';
 * const edge = await createEdgeServer({ models: 'models', port: 0 });
 * console.log(edge.url); // ws://127.0.0.1:PORT
 * await edge.drain();
 * ```
 */
export { createEdgeServer, type EdgeServer } from './server.js';
export type { EdgeServerOptions, AuthOptions } from './options.js';
export { DEFAULTS as EDGE_DEFAULTS } from './options.js';
export { signToken, checkToken, bearerToken, SUBPROTOCOL } from './auth.js';
