/**
 * The inference backend contract (onnxruntime's js/ style: a contract beside its
 * implementations). The device SDK sees only this; `backend-node.ts` (onnxruntime-node) and
 * `backend-web.ts` (onnxruntime-web, wasm: Node and browsers) implement it.
 */
import type { InferenceSession as OrtSession, Tensor as OrtTensor } from 'onnxruntime-common';
import { importOptional } from '../protocol/optional.js';

/** A float32 tensor: data and dims. */
export interface Float32Tensor {
  data: Float32Array;
  dims: readonly number[];
}

/** An opened model. */
export interface ModelSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, Float32Tensor>): Promise<Record<string, Float32Tensor>>;
  release(): Promise<void>;
}

/** A way to open models. */
export interface InferenceBackend {
  readonly name: 'onnxruntime-node' | 'onnxruntime-web';
  open(model: Uint8Array, options?: { threads?: number }): Promise<ModelSession>;
}

export type BackendName = InferenceBackend['name'];

/** Loads a backend by name (dynamic import, so a browser build never pulls onnxruntime-node). */
export async function loadBackend(name: BackendName): Promise<InferenceBackend> {
  if (name === 'onnxruntime-node')
    return (await importOptional('onnxruntime-node', 'the onnxruntime-node backend', () => import('./backend-node.js'))).nodeBackend;
  return (await importOptional('onnxruntime-web', 'the onnxruntime-web backend', () => import('./backend-web.js'))).webBackend;
}

/** Wraps an onnxruntime session (node or web: both implement onnxruntime-common's API). */
export function wrapOrtSession(s: OrtSession, TensorCtor: typeof OrtTensor): ModelSession {
  return {
    inputNames: s.inputNames,
    outputNames: s.outputNames,
    async run(feeds) {
      const input: Record<string, OrtTensor> = {};
      for (const [k, t] of Object.entries(feeds)) input[k] = new TensorCtor('float32', t.data, t.dims);
      const out = await s.run(input);
      const result: Record<string, Float32Tensor> = {};
      for (const [k, t] of Object.entries(out)) result[k] = { data: t.data as Float32Array, dims: t.dims };
      return result;
    },
    release: () => s.release(),
  };
}
