/** Worker thread that owns one onnxruntime-node session (the device's head, when asked to run off the main thread). */
import { parentPort } from 'node:worker_threads';
import type { ModelSession } from './backend.js';
import { nodeBackend } from './backend-node.js';
import type { HeadWorkerReply, HeadWorkerRequest } from './worker-session.js';

let session: ModelSession | undefined;
/**
 * Requests are handled one after another, so a release waits for the run in hand (the owner
 * terminates this thread after `released`; terminating it mid-run would abort the process).
 */
let chain: Promise<void> = Promise.resolve();

parentPort!.on('message', (msg: HeadWorkerRequest) => {
  chain = chain.then(async () => {
    try {
      if (msg.type === 'open') {
        session = await nodeBackend.open(msg.model, { threads: msg.threads });
        parentPort!.postMessage({
          type: 'opened',
          id: msg.id,
          inputNames: [...session.inputNames],
          outputNames: [...session.outputNames],
        } satisfies HeadWorkerReply);
      } else if (msg.type === 'run') {
        const out = await session!.run(msg.feeds);
        const plain: Record<string, { data: Float32Array; dims: number[] }> = {};
        for (const [k, t] of Object.entries(out)) plain[k] = { data: t.data.slice(), dims: [...t.dims] };
        parentPort!.postMessage(
          { type: 'result', id: msg.id, outputs: plain } satisfies HeadWorkerReply,
          Object.values(plain).map((t) => t.data.buffer as ArrayBuffer),
        );
      } else {
        await session?.release();
        parentPort!.postMessage({ type: 'released', id: msg.id } satisfies HeadWorkerReply);
      }
    } catch (err) {
      parentPort!.postMessage({ type: 'error', id: msg.id, message: (err as Error).message } satisfies HeadWorkerReply);
    }
  });
});
