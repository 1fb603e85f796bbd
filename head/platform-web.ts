/** The device's platform in browsers: onnxruntime-web (wasm), the browser's WebSocket, wasm zstd. */
import { loadZstdWasm } from '../bottleneck/zstd.js';
import { loadBackend } from './backend.js';
import type { Platform } from './platform.js';
import { webSocket } from './socket-web.js';

export const webPlatform: Platform = {
  name: 'web',
  backend: () => loadBackend('onnxruntime-web'),
  socket: webSocket,
  zstd: () => loadZstdWasm().catch(() => undefined),
};
