/** head/sessions.ts with a fake backend: which graph opens where, what each model is fed, the warm timing, the refusals. */
import { beforeAll, describe, expect, it } from 'vitest';
import type { InferenceBackend, ModelSession } from '../../head/backend.js';
import { openDeviceBundle } from '../../head/bundle-source.js';
import { folderReader } from '../../head/folder.js';
import type { Platform } from '../../head/platform.js';
import { openSessions } from '../../head/sessions.js';
import type { OpenedBundle } from '../../protocol/bundle-files.js';
import { TINY } from './helpers.js';

let opened: OpenedBundle;
beforeAll(async () => {
  opened = await openDeviceBundle(TINY, undefined, undefined, folderReader);
});

/** A fake session: records its feeds and whether it was released. */
function fakeSession(name: string, log: string[]): ModelSession {
  return {
    inputNames: ['input'],
    outputNames: [name],
    run(feeds) {
      for (const [k, t] of Object.entries(feeds)) log.push(`${name} ${k} [${t.dims.join(',')}] ${t.data.length}`);
      return Promise.resolve({ [name]: { data: new Float32Array(1), dims: [1] } });
    },
    release() {
      log.push(`${name} released`);
      return Promise.resolve();
    },
  };
}

/** A platform whose backend opens fake sessions named by the graph's size (head or full), or fails with `failWith`. */
function fakePlatform(log: string[], o: { name?: InferenceBackend['name']; failWith?: string; worker?: boolean } = {}): Platform {
  const which = (model: Uint8Array): string => (model === opened.graphs.head ? 'head' : 'full');
  const backend: InferenceBackend = {
    name: o.name ?? 'onnxruntime-node',
    open: (model) => (o.failWith && which(model) === 'full' ? Promise.reject(new Error(o.failWith)) : Promise.resolve(fakeSession(which(model), log))),
  };
  return {
    name: 'node',
    backend: () => Promise.resolve(backend),
    socket: () => {
      throw new Error('no sockets here');
    },
    zstd: () => Promise.resolve(undefined),
    ...(o.worker ? { openInWorker: (model: Uint8Array) => Promise.resolve(fakeSession(`${which(model)} in a worker`, log)) } : {}),
  };
}

describe('openSessions', () => {
  it('feeds each model the normalised input under its own input name, with a batch of one', async () => {
    const log: string[] = [];
    const s = await openSessions(opened, {}, fakePlatform(log));
    expect(s.backend).toBe('onnxruntime-node');
    expect(Object.keys(await s.runHead(new Float32Array(784)))).toEqual(['head']);
    expect(Object.keys(await s.runFull(new Float32Array(784)))).toEqual(['full']);
    expect(log).toEqual(['head input [1,1,28,28] 784', 'full input [1,1,28,28] 784']);
    await s.release();
    expect(log.slice(2)).toEqual(['head released', 'full released']);
  });

  it('times each model warm: one run to warm up, then three', async () => {
    const log: string[] = [];
    const s = await openSessions(opened, {}, fakePlatform(log));
    const t = await s.timeWarm();
    expect(t.headMs).toBeGreaterThanOrEqual(0);
    expect(t.localMs).toBeGreaterThanOrEqual(0);
    expect(log.filter((l) => l.startsWith('head'))).toHaveLength(4);
    expect(log.filter((l) => l.startsWith('full'))).toHaveLength(4);
  });

  it('opens the head in a worker thread when asked, on Node.js with onnxruntime-node', async () => {
    const log: string[] = [];
    const s = await openSessions(opened, { headInWorker: true }, fakePlatform(log, { worker: true }));
    await s.runHead(new Float32Array(784));
    expect(log).toEqual(['head in a worker input [1,1,28,28] 784']);
  });

  it('refuses headInWorker elsewhere, and names the graph a backend cannot open', async () => {
    await expect(openSessions(opened, { headInWorker: true }, fakePlatform([], { name: 'onnxruntime-web', worker: true }))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'headInWorker needs Node.js and the onnxruntime-node backend',
    });
    await expect(openSessions(opened, { headInWorker: true }, fakePlatform([]))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(openSessions(opened, {}, fakePlatform([], { name: 'onnxruntime-web', failWith: 'bad graph' }))).rejects.toMatchObject({
      code: 'BUNDLE_GRAPH_MISMATCH',
      message: 'full.onnx: onnxruntime-web cannot open it: bad graph',
    });
  });
});
