/** The device's platform in Node.js: onnxruntime-node, `ws`, bundle folders, native (or wasm) zstd, worker threads. */
import { loadZstd } from '../bottleneck/zstd-native.js';
import { loadBackend } from './backend.js';
import { folderReader } from './folder.js';
import type { Platform } from './platform.js';
import { nodeSocket } from './socket-node.js';

export const nodePlatform: Platform = {
  name: 'node',
  backend: () => loadBackend('onnxruntime-node'),
  socket: nodeSocket,
  readFolder: folderReader,
  zstd: () => loadZstd().catch(() => undefined),
  openInWorker: async (model) => (await import('./worker-session.js')).openInWorker(model),
};
