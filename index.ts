/**
 * Offramp: split computing with early exits. A device runs a network's head and early exits;
 * when no exit is confident it codes the bottleneck features and streams them to an edge server
 * that runs the tail. This entry works in Node.js and in browsers (it picks the platform's
 * backend and WebSocket when a device starts); `offramp/node` and `offramp/web` pin one, and
 * `offramp/tail` is the edge server (Node.js).
 *
 * @example
 * ```ts
 * import { createDevice } from 'offramp';
 * const device = await createDevice({ bundle: 'node_modules/offramp/models/fmnist-b32', edge: 'ws://127.0.0.1:8080' });
 * const r = await device.infer(pixels); // pixels: Uint8Array of 28×28
 * console.log(r.labelName, r.confidence, r.path, r.bytesUp);
 * await device.close();
 * ```
 */
export * from './head/index.js';
export * from './protocol/index.js';
export * from './bottleneck/index.js';
