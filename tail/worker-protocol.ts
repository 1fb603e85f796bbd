/** Messages between the server thread and its inference workers. */

/** One graph a worker serves: key `${bundleId}@${version}/${tail|full}`. */
export interface WorkerGraph {
  key: string;
  path: string;
  input: string;
  output: string;
  sampleShape: number[];
  sampleSize: number;
}

export interface WorkerInit {
  graphs: WorkerGraph[];
  intraOpThreads: number;
  spinning: boolean;
}

/** A batch: `n` samples laid out back to back in `data` (transferred, not copied). */
export interface WorkerJob {
  id: number;
  key: string;
  n: number;
  data: Float32Array;
}

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; ok: true; logits: Float32Array; computeUs: number }
  | { type: 'result'; id: number; ok: false; message: string };
