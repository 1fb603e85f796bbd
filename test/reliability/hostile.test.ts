/**
 * Hostile input against a spawned `offramp serve` (its own process: a crash would show as its
 * exit, its RSS is its own). Bounded sizes for CI; `npm run fuzz` runs 10^6 frames.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fragmentFlood, fuzzFrames, headerFlood, zstdBombs } from '../../bench/reliability/hostile.js';
import { rssKb } from '../../bench/reliability/load.js';
import { serveBundleCopy, type ServeProcess, type ServedCopy } from '../../bench/reliability/spawn.js';
import type { LoadedBundle } from '../../protocol/bundle.js';
import { ERROR_CODES } from '../../protocol/index.js';
import { TINY } from '../tail/client.js';

const FRAMES = 100_000;
const SEED = Number(process.env.OFFRAMP_FUZZ_SEED ?? 20261128);

let served: ServedCopy;
let bundle: LoadedBundle;
let server: ServeProcess;
beforeAll(async () => {
  // The fuzzer pushes frames as fast as the server answers: the default edge has no rate limit (§8).
  served = await serveBundleCopy(TINY, ['--workers', '1'], { fromSource: true });
  ({ server, bundle } = served);
}, 60_000);
afterAll(async () => {
  // Alive to the end, and a clean drain: nothing below crashed it.
  expect(server.child.exitCode).toBe(null);
  expect(await served.close()).toBe(0);
});

const healthy = async (): Promise<number> => (await fetch(`http://127.0.0.1:${server.port}/healthz`)).status;

describe('hostile input (spawned offramp serve, the tiny bundle)', () => {
  it(`ends every id of ${FRAMES.toLocaleString('en')} mutated and random frames in one typed reply, and the connection stays usable (seed ${SEED})`, async () => {
    const r = await fuzzFrames({ url: server.url, bundle, frames: FRAMES, seed: SEED });
    console.log(JSON.stringify({ ...r, firstMessage: undefined }));
    expect(r.closedEarly).toBe(null);
    expect(r.frames).toBe(FRAMES);
    // Every id named ended, none more often than frames named it; every frame without a readable id got its id-0 reply.
    expect(r.lost).toBe(0);
    expect(r.extraOutcomes).toBe(0);
    expect(r.id0Replies).toBe(r.id0Frames);
    expect(r.idFrames + r.id0Frames).toBe(FRAMES);
    // One reply per frame, but where a frame named an id still in flight (both end in one outcome).
    expect(r.replies).toBeLessThanOrEqual(FRAMES);
    expect(r.replies).toBeGreaterThanOrEqual(FRAMES - r.reused);
    expect(r.undecodable).toBe(0);
    expect(r.answers).toBeGreaterThan(FRAMES / 100);
    for (const code of Object.keys(r.errorsByCode)) expect(ERROR_CODES).toContain(code);
    expect(r.errorsByCode.INTERNAL ?? 0, r.firstMessage.INTERNAL).toBe(0);
    expect(r.probes.answered).toBe(r.probes.sent);
    expect(r.probes.sent).toBe(FRAMES / 100);
    expect(await healthy()).toBe(200);
  }, 180_000);

  it('refuses an upgrade with 2,000 headers with 431, and stays up', async () => {
    expect(await headerFlood(server.port, 2000)).toBe(431);
    expect(await healthy()).toBe(200);
  });

  it('reassembles a request sent in one-byte fragments; closes 1009 past maxPayload (twice the frame limit) and 1008 on a flood of empty fragments', async () => {
    const r = await fragmentFlood({ port: server.port, bundle, emptyFragments: 50_000 });
    expect(r).toMatchObject({ assembled: 'answer', overLimitClose: 1009, emptyFloodClose: 1008 });
    expect(await healthy()).toBe(200);
  }, 60_000);

  it('refuses zstd bombs (17 bytes claiming 256 MiB) and frames that lie about their size, without the memory they claim', async () => {
    const before = rssKb(server.pid);
    const outcomes = await zstdBombs({ url: server.url, bundle, count: 3000 });
    const after = rssKb(server.pid);
    expect(outcomes).toEqual({ TOO_LARGE: 1000, BAD_REQUEST: 2000 });
    // 1,000 frames each claiming 256 MiB: had one been allocated, RSS would have grown by that much.
    expect((after - before) / 1024).toBeLessThan(64);
  }, 60_000);
});
