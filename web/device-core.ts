/**
 * The device, off the page's main thread (loaded by web/device-worker.ts): onnxruntime-web (wasm,
 * one thread), the bundle in memory and at most one device (head/device.ts) at a time. Loading
 * runs in parallel (the runtime, the bundle); everything else runs strictly in the order it
 * arrives (web/device-host.ts): a `configure` closes the current device before it opens the next
 * one, so however fast the page's controls change, one WebSocket at most is open.
 */
import * as ort from 'onnxruntime-web';
import { loadZstdWasm } from '../bottleneck/zstd.js';
import { createDevice, type InMemoryBundle } from '../head/device.js';
import { openBundle } from '../protocol/bundle-files.js';
import { decodedLength, fetchBytes } from './fetch-bytes.js';
import { DeviceHost } from './device-host.js';
import type { FromWorker, Progress, ToWorker } from './messages.js';
import { installSha256IfMissing } from './shims/sha256.js';
import { countSockets, mostSockets, openSockets } from './socket-count.js';

/** A one-node model (Identity on a float[1]): opening it makes onnxruntime compile its wasm now. */
const IDENTITY_ONNX = '08073a370a100a017812017922084964656e746974791201675a0f0a0178120a0a08080112040a020801620f0a0179120a0a08080112040a02080142040a00100d';

/** What the worker's entry hands over: its messaging and the runtime's bytes as they arrive. */
export interface WorkerContext {
  post: (m: FromWorker) => void;
  mark: (name: string) => void;
  progress: (p: Progress) => void;
  /** onnxruntime's wasm: its address and the response the entry already asked for. */
  wasm: { url: string; response: Promise<Response> };
}

/**
 * Compiles onnxruntime's wasm by opening a one-node model. onnxruntime fetches the wasm itself and
 * compiles it while it streams in (WebAssembly.instantiateStreaming); its one fetch of that
 * address is handed the response the worker's entry started at once, so nothing downloads twice.
 */
async function loadRuntime(wasm: WorkerContext['wasm'], mark: WorkerContext['mark']): Promise<void> {
  // zstd (wasm too) loads meanwhile: the device asks for it when it opens.
  void loadZstdWasm().catch(() => undefined);
  ort.env.wasm.wasmPaths = { wasm: wasm.url };
  ort.env.wasm.numThreads = 1;
  const realFetch = globalThis.fetch;
  let pending: Promise<Response> | undefined = wasm.response;
  globalThis.fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (pending && url === wasm.url) {
      const r = pending;
      pending = undefined;
      return r;
    }
    return realFetch(input, init);
  };
  try {
    const warm = await ort.InferenceSession.create(
      Uint8Array.from(IDENTITY_ONNX.match(/../g)!, (h) => parseInt(h, 16)),
      { executionProviders: ['wasm'] },
    );
    await warm.release();
  } finally {
    globalThis.fetch = realFetch;
  }
  mark('offramp:runtime-compiled');
}

/** Fetches the bundle's files into memory; the SDK's own checks (schema, every sha256) pick and verify them. */
async function loadBundle(bundleUrl: string, { post, mark, progress }: WorkerContext): Promise<InMemoryBundle> {
  let loaded = 0;
  let total = 0;
  const files: Record<string, Uint8Array> = {};
  const opened = await openBundle(
    async (name) => {
      const res = await fetch(new URL(encodeURIComponent(name), bundleUrl));
      total += decodedLength(res) ?? 0;
      return (files[name] = await fetchBytes(res.url, (n) => progress({ part: 'model', loaded: (loaded += n), total: Math.max(total, loaded) }), res));
    },
    ['head', 'full'],
  );
  mark('offramp:bundle-loaded');
  post({ type: 'loaded', manifest: opened.manifest });
  return { files };
}

/** Starts the device side; returns the handler for the page's messages. */
export function start(context: WorkerContext): (m: ToWorker) => void {
  const { post, mark, wasm } = context;
  installSha256IfMissing();
  countSockets();
  const fail = (e: unknown): void => post({ type: 'failed', message: e instanceof Error ? e.message : String(e) });
  /** The runtime loads from the start; the bundle once the page names it. A device waits for both. */
  const runtime = loadRuntime(wasm, mark);
  let gotBundleUrl: (url: string) => void = () => {};
  const bundle = new Promise<string>((resolve) => (gotBundleUrl = resolve)).then((url) => loadBundle(url, context));
  runtime.catch(fail);
  bundle.catch(fail);

  const host = new DeviceHost({
    post,
    open: async (s) => {
      const [files] = await Promise.all([bundle, runtime]);
      const device = await createDevice({
        bundle: files,
        edge: s.edge,
        backend: 'onnxruntime-web',
        policy: s.policy,
        profile: { device: s.device, link: s.radio },
        deadlineMs: 1000,
        // The page is ready once the device can answer; the edge's handshake finishes meanwhile
        // (a run waits for it: main.ts).
        connectWaitMs: 0,
      });
      mark('offramp:device-opened');
      return device;
    },
    sockets: () => ({ sockets: openSockets(), mostSockets: mostSockets() }),
  });
  // The SDK has no connection events: look four times a second.
  setInterval(() => host.report(), 250);

  return (m) => {
    if (m.type === 'load') gotBundleUrl(m.bundleUrl);
    else if (m.type === 'configure') host.configure(m.id, m.settings);
    else if (m.type === 'infer') host.infer(m.id, m.samples, m.topK);
    else if (m.type === 'cancel') host.cancel(m.id);
  };
}
