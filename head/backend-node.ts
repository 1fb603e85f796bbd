/** onnxruntime-node behind the backend contract (native CPU; Node.js only). */
import * as ort from 'onnxruntime-node';
import { wrapOrtSession, type InferenceBackend } from './backend.js';

export const nodeBackend: InferenceBackend = {
  name: 'onnxruntime-node',
  async open(model, options = {}) {
    const s = await ort.InferenceSession.create(model, {
      intraOpNumThreads: options.threads ?? 1,
      interOpNumThreads: 1,
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
    return wrapOrtSession(s, ort.Tensor);
  },
};
