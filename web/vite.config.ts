/**
 * The browser demo (web/): the device SDK bundled for browsers, Node-only modules stubbed.
 * onnxruntime-web is its plain wasm build (no WebGPU/JSEP: one 14 MB wasm instead of 28 MB), and
 * the build precompresses every asset (brotli and gzip beside each file) for tail/static.ts.
 */
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { demoDataPlugin, earlyWorkerPlugin, precompressPlugin } from './build-plugins.js';

const shim = (f: string): string => fileURLToPath(new URL(`./shims/${f}`, import.meta.url));
const alias = [
  // The SDK imports 'onnxruntime-web'; the page needs only its wasm execution provider.
  { find: /^onnxruntime-web$/, replacement: 'onnxruntime-web/wasm' },
  { find: /^ws$/, replacement: shim('ws.ts') },
  { find: /^onnxruntime-node$/, replacement: shim('node.ts') },
  { find: /^node:(fs\/promises|fs|path|crypto|module|url|os|worker_threads|zlib)$/, replacement: shim('node.ts') },
];

const wasmFile = fileURLToPath(new URL('../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm', import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000, assetsInlineLimit: 0 },
  define: {
    // The runtime's size before transfer compression, for the progress bar (Content-Length is the compressed size).
    __ORT_WASM_BYTES__: JSON.stringify(statSync(wasmFile).size),
  },
  resolve: { alias },
  worker: { format: 'es' },
  plugins: [demoDataPlugin(), earlyWorkerPlugin(), precompressPlugin()],
});
