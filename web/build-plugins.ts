/**
 * Build steps of the browser demo (vite plugins): the demo's test images as a hashed asset (the
 * first images of the committed Fashion-MNIST test split, not all 10,000), and brotli + gzip
 * copies of every compressible file in the output, which tail/static.ts serves to browsers that
 * accept them.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gunzipSync, gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';

/** Images the page carries (indices 0 … DEMO_IMAGES − 1 of the test split). */
export const DEMO_IMAGES = 1000;
const DATA = fileURLToPath(new URL('../data/fashion-mnist/', import.meta.url));
const VIRTUAL = 'virtual:demo-data';

/** The first `n` items of a gzipped IDX file, as an uncompressed IDX file (its first dim set to n). */
export function idxHead(gz: Uint8Array, n: number): Uint8Array {
  const raw = gunzipSync(gz);
  const rank = raw[3]!;
  const header = 4 + 4 * rank;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let item = 1;
  for (let i = 1; i < rank; i++) item *= view.getUint32(4 + 4 * i, false);
  const count = Math.min(n, view.getUint32(4, false));
  const out = new Uint8Array(header + count * item);
  out.set(raw.subarray(0, header + count * item));
  new DataView(out.buffer).setUint32(4, count, false);
  return out;
}

/**
 * `import data from 'virtual:demo-data'`: `{ images, labels }` URLs of the emitted IDX assets
 * (hashed names: cached as immutable) and their sizes, for the progress bar.
 */
export function demoDataPlugin(): Plugin {
  return {
    name: 'offramp-demo-data',
    resolveId: (id) => (id === VIRTUAL ? `\0${VIRTUAL}` : undefined),
    load(id) {
      if (id !== `\0${VIRTUAL}`) return undefined;
      const files = {
        images: idxHead(readFileSync(join(DATA, 't10k-images-idx3-ubyte.gz')), DEMO_IMAGES),
        labels: idxHead(readFileSync(join(DATA, 't10k-labels-idx1-ubyte.gz')), DEMO_IMAGES),
      };
      const entries = Object.entries(files).map(([k, bytes]) => {
        const ref = this.emitFile({ type: 'asset', name: `fashion-mnist-test-${k}.idx`, source: bytes });
        return `${k}: { url: import.meta.ROLLUP_FILE_URL_${ref}, bytes: ${bytes.length} }`;
      });
      return `export default { ${entries.join(', ')} };`;
    },
  };
}

/**
 * Starts the device worker from index.html itself (`globalThis.offrampWorker`), before the page's
 * script has loaded: the worker fetches and compiles onnxruntime's wasm, the longest steps before
 * the page is ready, while the rest of the page loads.
 */
export function earlyWorkerPlugin(): Plugin {
  return {
    name: 'offramp-early-worker',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        const worker = Object.keys(ctx.bundle ?? {}).find((f) => /^assets\/device-worker-[\w-]+\.js$/.test(f));
        if (!worker) throw new Error('the device worker is not in the bundle');
        return [
          {
            tag: 'script',
            children: `globalThis.offrampWorker = new Worker(${JSON.stringify(`/${worker}`)}, { type: 'module', name: 'offramp-device' });`,
            injectTo: 'head',
          },
        ];
      },
    },
  };
}

const COMPRESSIBLE = /\.(html|js|mjs|css|json|wasm|idx|svg|map)$/;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/**
 * Writes `<file>.br` and `<file>.gz` beside each compressible output file of 1 KiB or more, when
 * smaller (brotli at its best setting below 1 MB, quality 9 above: 11 takes a minute on the wasm
 * for 12% fewer bytes).
 */
export function precompressPlugin(): Plugin {
  let outDir = '';
  return {
    name: 'offramp-precompress',
    apply: 'build',
    configResolved(c) {
      outDir = resolve(c.root, c.build.outDir);
    },
    closeBundle() {
      for (const file of walk(outDir).filter((f) => COMPRESSIBLE.test(f))) {
        const bytes = readFileSync(file);
        if (bytes.length < 1024) continue;
        const br = brotliCompressSync(bytes, {
          params: { [constants.BROTLI_PARAM_QUALITY]: bytes.length < 1e6 ? 11 : 9, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
        });
        const gz = gzipSync(bytes, { level: 9 });
        if (br.length < bytes.length) writeFileSync(`${file}.br`, br);
        if (gz.length < bytes.length) writeFileSync(`${file}.gz`, gz);
      }
    },
  };
}
