/**
 * The device worker's entry: small, so that it starts fetching onnxruntime's wasm (the largest
 * download) the moment index.html starts it, while the device's code (web/device-core.ts: the
 * SDK, onnxruntime-web) loads beside it. Its messages wait until the page listens.
 */
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import { countBytes } from './fetch-bytes.js';
import type { FromWorker, Progress, ToWorker } from './messages.js';

/** Messages wait here until the page says hello (index.html starts this worker before the page's script runs). */
let held: FromWorker[] | undefined = [];
const post = (m: FromWorker): void => void (held ? held.push(m) : postMessage(m));
/** Marks a loading step for the page's performance timeline (the benchmark reads them). */
const mark = (name: string): void => post({ type: 'mark', name, at: performance.timeOrigin + performance.now() });
mark('offramp:worker-started');

/** Progress messages, at most one per part every 50 ms (and the last one always). */
const lastPost = new Map<string, number>();
function progress(p: Progress): void {
  const now = performance.now();
  if (p.loaded < p.total && now - (lastPost.get(p.part) ?? -Infinity) < 50) return;
  lastPost.set(p.part, now);
  post({ type: 'progress', ...p });
}

// The runtime's response goes to onnxruntime as it arrives (streaming compile, overlapping the
// download, and Chromium's code cache for the next visit need the real response, not bytes); a
// clone of its body is only counted, for the progress bar.
const wasmUrlHref = new URL(wasmUrl, location.href).href;
const wasm = fetch(wasmUrlHref).then((res) => {
  if (!res.ok || !res.body) throw new Error(`${wasmUrlHref}: HTTP ${res.status}`);
  let loaded = 0;
  void countBytes(res.clone(), (n) => progress({ part: 'runtime', loaded: (loaded += n), total: __ORT_WASM_BYTES__ })).then(
    () => mark('offramp:runtime-fetched'),
    () => undefined,
  );
  return res;
});

// Messages for the device wait until its code has loaded; the page's hello is answered at once.
const early: ToWorker[] = [];
let handle: (m: ToWorker) => void = (m) => void early.push(m);
onmessage = (e: MessageEvent<ToWorker>) => {
  if (e.data.type !== 'hello') return handle(e.data);
  for (const m of held ?? []) postMessage(m);
  held = undefined;
};
import('./device-core.js').then(
  (core) => {
    handle = core.start({ post, mark, progress, wasm: { url: wasmUrlHref, response: wasm } });
    for (const m of early.splice(0)) handle(m);
  },
  (err: unknown) => post({ type: 'failed', message: `the device's code did not load: ${String(err)}` }),
);
