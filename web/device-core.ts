/**
 * The device, off the page's main thread (loaded by web/device-worker.ts): onnxruntime-web (wasm,
 * one thread), the bundle in memory and at most one device (head/device.ts) at a time. Loading
 * runs in parallel (the runtime, the bundle); everything else runs strictly in the order it
 * arrives: a `configure` closes the current device before it opens the next one, so however fast
 * the page's controls change, one WebSocket at most is open.
 */
import * as ort from 'onnxruntime-web';
import { loadZstdWasm } from '../bottleneck/zstd.js';
import { createDevice, type Device, type InMemoryBundle } from '../head/device.js';
import { openBundle } from '../protocol/bundle-files.js';
import { decodedLength, fetchBytes } from './fetch-bytes.js';
import type { DeviceSettings, FromWorker, Progress, ToWorker } from './messages.js';
import { installSha256IfMissing } from './shims/sha256.js';
import { countSockets, mostSockets, openSockets } from './socket-count.js';

/** A one-node model (Identity on a float[1]): opening it makes onnxruntime compile its wasm now. */
const IDENTITY_ONNX = '08073a370a100a017812017922084964656e746974791201675a0f0a0178120a0a08080112040a020801620f0a0179120a0a08080112040a02080142040a00100d';

/** What the worker's entry hands over: its messaging and the runtime's bytes as they arrive. */
export interface WorkerContext {
  post: (m: FromWorker) => void;
  mark: (name: string) => void;
  progress: (p: Progress) => void;
  wasm: Promise<Uint8Array>;
}

/** Starts the device side; returns the handler for the page's messages. */
export function start({ post, mark, progress, wasm }: WorkerContext): (m: ToWorker) => void {
  installSha256IfMissing();
  countSockets();

  /** Compiles onnxruntime's wasm (the bytes the entry fetched) by opening a one-node model. */
  const loadRuntime = async (binary: Uint8Array): Promise<void> => {
    // zstd (wasm too) loads meanwhile, not while the runtime downloads: the device asks for it when it opens.
    void loadZstdWasm().catch(() => undefined);
    // onnxruntime compiles these bytes instead of fetching its wasm again.
    ort.env.wasm.wasmBinary = binary;
    ort.env.wasm.numThreads = 1;
    const warm = await ort.InferenceSession.create(
      Uint8Array.from(IDENTITY_ONNX.match(/../g)!, (h) => parseInt(h, 16)),
      { executionProviders: ['wasm'] },
    );
    await warm.release();
    mark('offramp:runtime-compiled');
  };

  /** Fetches the bundle's files into memory; the SDK's own checks (schema, every sha256) pick and verify them. */
  const loadBundle = async (bundleUrl: string): Promise<InMemoryBundle> => {
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
  };

  const fail = (e: unknown): void => post({ type: 'failed', message: e instanceof Error ? e.message : String(e) });
  /** The runtime loads from the start; the bundle once the page names it. `configure` waits for both. */
  const runtime = wasm.then(loadRuntime);
  let gotBundleUrl: (url: string) => void = () => {};
  const bundle = new Promise<string>((resolve) => (gotBundleUrl = resolve)).then(loadBundle);
  runtime.catch(fail);
  bundle.catch(fail);

  let device: Device | undefined;
  /** The newest `configure` id: older ones still queued are skipped. */
  let latestConfigure = 0;
  const cancelled = new Set<number>();
  let queue: Promise<void> = Promise.resolve();
  /** Runs `op` after everything queued before it; an error is reported, never thrown into the queue. */
  const enqueue = (op: () => Promise<void>, onError: (message: string) => void): void => {
    queue = queue.then(op).catch((e: unknown) => onError(e instanceof Error ? e.message : String(e)));
  };

  /** Tells the page the connection state and the sockets this worker holds, when any changed. */
  let last = '';
  const report = (): void => {
    const now = { connected: device?.connected ?? false, sockets: openSockets(), mostSockets: mostSockets() };
    const key = JSON.stringify(now);
    if (key !== last) post({ type: 'connection', ...now });
    last = key;
  };
  // The SDK has no connection events: look four times a second.
  setInterval(report, 250);

  const configure = async (id: number, s: DeviceSettings): Promise<void> => {
    if (id !== latestConfigure) return post({ type: 'configured', id, outcome: 'superseded', connected: false });
    const old = device;
    device = undefined;
    await old?.close();
    report();
    const [files] = await Promise.all([bundle, runtime]);
    device = await createDevice({
      bundle: files,
      edge: s.edge,
      backend: 'onnxruntime-web',
      policy: s.policy,
      profile: { device: s.device, link: s.radio },
      deadlineMs: 1000,
    });
    report();
    post({ type: 'configured', id, outcome: 'ready', connected: device.connected });
  };

  const infer = async (id: number, samples: Uint8Array[], topK: number): Promise<void> => {
    for (let k = 0; k < samples.length; k++) {
      if (cancelled.delete(id)) return post({ type: 'done', id, cancelled: true });
      if (!device) throw new Error('no device: configure first');
      const result = await device.infer(samples[k]!, topK ? { topK } : {});
      // Output tensors are not shown; the rest is plain data.
      delete result.outputs;
      post({ type: 'answer', id, k, result });
    }
    cancelled.delete(id);
    post({ type: 'done', id, cancelled: false });
  };

  return (m) => {
    if (m.type === 'load') gotBundleUrl(m.bundleUrl);
    else if (m.type === 'configure') {
      latestConfigure = m.id;
      enqueue(
        () => configure(m.id, m.settings),
        (message) => post({ type: 'configured', id: m.id, outcome: 'failed', connected: false, message }),
      );
    } else if (m.type === 'infer')
      enqueue(
        () => infer(m.id, m.samples, m.topK),
        (error) => post({ type: 'done', id: m.id, cancelled: false, error }),
      );
    else if (m.type === 'cancel') cancelled.add(m.id);
  };
}
