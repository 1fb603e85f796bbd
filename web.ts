/**
 * offramp/web — the device SDK pinned to browsers: onnxruntime-web (wasm), the browser's
 * WebSocket, wasm zstd. Nothing here reaches a Node.js module.
 *
 * @example
 * ```ts
 * import { createDevice } from 'offramp/web';
 * const device = await createDevice({ bundle: 'https://edge.example/v1/models/fmnist-b32/<version>/', edge: 'wss://edge.example' });
 * const r = await device.infer(pixels, { topK: 3 });
 * ```
 */
import { registerPlatform } from './head/platform.js';
import { webPlatform } from './head/platform-web.js';

registerPlatform(webPlatform);

export * from './index.js';
export { webPlatform } from './head/platform-web.js';
