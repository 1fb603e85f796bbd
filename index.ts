/**
 * Offramp: split computing with early exits. The device runs a network's head and early exits;
 * when no exit is confident it quantizes the bottleneck features and streams them to an edge
 * server that runs the tail.
 *
 * @example
 * ```ts
 * import { loadBundle, encodeFeatures, decodeFeatures } from 'offramp';
 * const bundle = await loadBundle('models/fmnist-b32');
 * ```
 */
export * from './protocol/index.js';
export * from './bottleneck/index.js';
