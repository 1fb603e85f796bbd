/**
 * Inference worker (worker_threads): one onnxruntime-node session per graph it is given, so
 * `session.run()` blocks this thread and never the server's event loop.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { OutputData, WorkerGraph, WorkerInit, WorkerJob, WorkerMessage, WorkerReply } from './worker-protocol.js';

const init = workerData as WorkerInit;
const sessions = new Map<string, { session: ort.InferenceSession; graph: WorkerGraph }>();

/**
 * Linux: this thread runs at a lower priority (a higher nice value) than the event loop, so that a
 * frame is read, refused or answered at once even while every core computes; when the loop is
 * idle the workers still get all the CPU. /proc/thread-self names this thread's id.
 */
function lowerPriority(nice: number): void {
  if (nice === 0) return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, nice);
  } catch {
    // Not Linux, or not permitted: the default priority.
  }
}

async function start(): Promise<void> {
  lowerPriority(init.nice ?? 0);
  for (const graph of init.graphs) {
    const session = await ort.InferenceSession.create(graph.path, {
      intraOpNumThreads: init.intraOpThreads,
      interOpNumThreads: 1,
      extra: { session: { intra_op: { allow_spinning: init.spinning ? '1' : '0' } } },
    });
    // Warm up at batch 1 so the first request does not pay for allocation.
    await session.run({ [graph.input]: new ort.Tensor('float32', new Float32Array(graph.sampleSize), [1, ...graph.sampleShape]) });
    sessions.set(graph.key, { session, graph });
  }
  parentPort!.postMessage({ type: 'ready' } satisfies WorkerReply);
}

/** The batches in hand, chained (a stop waits for them). */
let current: Promise<void> = Promise.resolve();

parentPort!.on('message', (m: WorkerMessage) => {
  if (m.type === 'stop') {
    void current.then(async () => {
      for (const { session } of sessions.values()) await session.release().catch(() => {});
      sessions.clear();
      parentPort!.close(); // nothing left to wait for: the thread exits with code 0
    });
    return;
  }
  // In order, one at a time: the pool may queue a batch behind the one running.
  current = current.then(() => run(m));
});

async function run(job: WorkerJob): Promise<void> {
  const s = sessions.get(job.key);
  if (!s) {
    parentPort!.postMessage({ type: 'result', id: job.id, ok: false, message: `no graph ${job.key}` } satisfies WorkerReply);
    return;
  }
  try {
    const t0 = performance.now();
    const out = await s.session.run({ [s.graph.input]: new ort.Tensor('float32', job.data, [job.n, ...s.graph.sampleShape]) });
    const outputs = s.graph.outputs.map((name) => (out[name]!.data as OutputData).slice());
    const computeUs = Math.round((performance.now() - t0) * 1000);
    // The batch's buffer goes back too: onnxruntime is done with it, and the scheduler refills it.
    parentPort!.postMessage({ type: 'result', id: job.id, ok: true, outputs, computeUs, input: job.data } satisfies WorkerReply, [
      ...outputs.map((o) => o.buffer),
      job.data.buffer as ArrayBuffer,
    ]);
  } catch (err) {
    parentPort!.postMessage({ type: 'result', id: job.id, ok: false, message: (err as Error).message } satisfies WorkerReply);
  }
}

start().catch((err: unknown) => {
  parentPort!.postMessage({ type: 'failed', message: (err as Error).message } satisfies WorkerReply);
});
