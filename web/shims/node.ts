/**
 * Stand-ins for the Node.js modules (and onnxruntime-node) that the SDK imports for Node-only
 * paths — bundle folders, the native backend, native zstd. The browser build aliases them here;
 * calling one says what to use instead.
 */
function nodeOnly(what: string): never {
  throw new Error(`${what} needs Node.js; in a browser give the bundle as a URL or in memory`);
}
export const readFile = (): never => nodeOnly('reading files');
export const join = (...parts: string[]): string => parts.join('/');
export const dirname = (p: string): string => p.replace(/\/[^/]*$/, '');
export const basename = (p: string): string => p.replace(/^.*\//, '');
export const createHash = (): never => nodeOnly('node:crypto');
export const gunzipSync = (): never => nodeOnly('node:zlib (decompress with DecompressionStream first)');
export const createRequire = (): ((id: string) => never) => (id: string) => nodeOnly(`require('${id}')`);
export const fileURLToPath = (u: string): string => u;
export const InferenceSession = { create: (): never => nodeOnly('onnxruntime-node') };
export const Tensor = class {};
export default {};
export const existsSync = (): boolean => false;
export const Worker = class {
  constructor() {
    nodeOnly('worker_threads (headInWorker)');
  }
};
