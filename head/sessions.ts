/**
 * The device's two models on its inference backend: the head (exits and the bottleneck's output)
 * and the local full model, opened from a verified bundle (a graph the backend cannot open is
 * BUNDLE_GRAPH_MISMATCH), each fed the normalised input under its own input name, and timed warm
 * for the cost estimates.
 */
import type { OpenedBundle } from '../protocol/bundle-files.js';
import { OfframpError } from '../protocol/errors.js';
import { loadBackend, type BackendName, type Float32Tensor, type ModelSession } from './backend.js';
import { timeWarm } from './costs.js';
import { invalid } from './device-options.js';
import type { Platform } from './platform.js';

/** A model's outputs by name. */
export type Outputs = Record<string, Float32Tensor>;

export interface DeviceSessions {
  readonly backend: BackendName;
  /** Runs the head on one normalised input. */
  runHead(x: Float32Array): Promise<Outputs>;
  /** Runs the local full model on one normalised input. */
  runFull(x: Float32Array): Promise<Outputs>;
  /** Each model's time on this machine, warm (the first runs of a session are several times slower), ms. */
  timeWarm(): Promise<{ headMs: number; localMs: number }>;
  release(): Promise<void>;
}

/**
 * Opens the head and the full model of `opened` on the backend named (default: the platform's);
 * the head in a worker thread when asked (Node.js, onnxruntime-node only).
 */
export async function openSessions(
  opened: OpenedBundle,
  options: { backend?: BackendName; headInWorker?: boolean },
  platform: Platform,
): Promise<DeviceSessions> {
  const m = opened.manifest;
  const backend = options.backend ? await loadBackend(options.backend) : await platform.backend();
  if (options.headInWorker && (backend.name !== 'onnxruntime-node' || !platform.openInWorker))
    invalid('headInWorker needs Node.js and the onnxruntime-node backend');
  const openGraph = async (g: 'head' | 'full', open: () => Promise<ModelSession>): Promise<ModelSession> => {
    try {
      return await open();
    } catch (err) {
      throw new OfframpError('BUNDLE_GRAPH_MISMATCH', `${m.graphs[g].file}: ${backend.name} cannot open it: ${(err as Error).message}`, { cause: err });
    }
  };
  const [head, full]: [ModelSession, ModelSession] = await Promise.all([
    openGraph('head', () => (options.headInWorker ? platform.openInWorker!(opened.graphs.head!) : backend.open(opened.graphs.head!))),
    openGraph('full', () => backend.open(opened.graphs.full!)),
  ]);
  const inputShape = m.input.shape;
  const headInput = m.graphs.head.inputs[0]!.name;
  const fullInput = m.graphs.full.inputs[0]!.name;
  const runHead = (x: Float32Array): Promise<Outputs> => head.run({ [headInput]: { data: x, dims: [1, ...inputShape] } });
  const runFull = (x: Float32Array): Promise<Outputs> => full.run({ [fullInput]: { data: x, dims: [1, ...inputShape] } });
  return {
    backend: backend.name,
    runHead,
    runFull,
    async timeWarm() {
      const warm = new Float32Array(inputShape.reduce((a, b) => a * b, 1));
      return { headMs: await timeWarm(() => runHead(warm)), localMs: await timeWarm(() => runFull(warm)) };
    },
    release: async () => {
      await Promise.all([head.release(), full.release()]);
    },
  };
}
