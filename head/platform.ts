/**
 * What a device needs from the platform it runs on (onnxruntime's js/ style: a contract here,
 * one implementation per platform, the right one picked at run time): an inference backend, a
 * WebSocket, reading bundle folders (Node.js only) and zstd. `offramp/node` and `offramp/web`
 * register theirs; the root entry picks by environment with a dynamic import, so a browser build
 * never reaches Node.js modules and Node.js never loads onnxruntime-web.
 */
import type { BundleReader } from '../protocol/bundle-files.js';
import type { ZstdBackend } from '../bottleneck/zstd.js';
import type { InferenceBackend } from './backend.js';
import type { SocketFactory } from './socket.js';

export interface Platform {
  name: 'node' | 'web';
  /** The default inference backend. */
  backend(): Promise<InferenceBackend>;
  socket: SocketFactory;
  /** Reads a bundle folder; absent where there is no file system. */
  readFolder?: (dir: string) => BundleReader;
  /** A zstd backend, or undefined where none loads (payloads then go without zstd). */
  zstd(): Promise<ZstdBackend | undefined>;
  /** Runs a model in a worker thread (Node.js: headInWorker). */
  openInWorker?: (model: Uint8Array) => Promise<import('./backend.js').ModelSession>;
}

let registered: Platform | undefined;

/** Makes `p` the platform devices use unless told otherwise. */
export function registerPlatform(p: Platform): void {
  registered = p;
}

/** Running in Node.js rather than a browser. */
export const IS_NODE = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** The registered platform, or the one for this environment. */
export async function currentPlatform(): Promise<Platform> {
  if (registered) return registered;
  registered = IS_NODE ? (await import('./platform-node.js')).nodePlatform : (await import('./platform-web.js')).webPlatform;
  return registered;
}
