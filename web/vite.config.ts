/** The browser demo (web/): the device SDK bundled for browsers, Node-only modules stubbed. */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const shim = (f: string): string => fileURLToPath(new URL(`./shims/${f}`, import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000 },
  resolve: {
    alias: [
      { find: /^ws$/, replacement: shim('ws.ts') },
      { find: /^onnxruntime-node$/, replacement: shim('node.ts') },
      { find: /^node:(fs\/promises|fs|path|crypto|module|url|os|worker_threads|zlib)$/, replacement: shim('node.ts') },
    ],
  },
});
