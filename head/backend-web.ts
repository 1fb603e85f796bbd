/** onnxruntime-web (wasm) behind the backend contract: the same code path in Node and browsers. */
import * as ort from 'onnxruntime-web';
import { wrapOrtSession, type InferenceBackend } from './backend.js';

export const webBackend: InferenceBackend = {
  name: 'onnxruntime-web',
  async open(model, options = {}) {
    ort.env.wasm.numThreads = options.threads ?? 1;
    return wrapOrtSession(await ort.InferenceSession.create(model, { executionProviders: ['wasm'] }), ort.Tensor);
  },
};
