/**
 * The conformance vectors (test/fixtures/conformance.json, docs/PROTOCOL.md §12): the committed
 * file is what scripts/gen-conformance.ts writes; every frame in it decodes and re-encodes byte
 * for byte; and replayed against a real edge, every case gets the replies it lists (byte for byte
 * where they are pinned, field by field otherwise).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeOutput, type OutputData } from '../../bottleneck/index.js';
import { pb } from '../../protocol/index.js';
import { createEdgeServer, type EdgeServer, type EdgeServerOptions } from '../../tail/index.js';
import type { ConformanceCase, ExpectedFrame } from '../../scripts/gen-conformance.js';
import { TestClient } from '../tail/client.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FILE = join(ROOT, 'test', 'fixtures', 'conformance.json');
const cases = JSON.parse(await readFile(FILE, 'utf8')) as ConformanceCase[];
const ATOL = 1e-4;

const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** Proto3 JSON of a frame, as the file writes it. */
const json = (b: Uint8Array): Record<string, unknown> => pb.Frame.toObject(pb.Frame.decode(b), { enums: String, bytes: String, longs: Number, json: true });
/** The frame a proto3 JSON object stands for, encoded. */
const fromJson = (o: Record<string, unknown>): Uint8Array => pb.Frame.encode(pb.Frame.fromObject(o)).finish();

/** The value at a dotted path ('error.retryAfterMs'), and the object without it. */
function take(o: Record<string, unknown>, path: string): { value: unknown; rest: Record<string, unknown> } {
  const [head, ...tail] = path.split('.');
  const copy = { ...o };
  if (tail.length === 0) {
    const value = copy[head!];
    delete copy[head!];
    return { value, rest: copy };
  }
  const inner = take((copy[head!] ?? {}) as Record<string, unknown>, tail.join('.'));
  copy[head!] = inner.rest;
  return { value: inner.value, rest: copy };
}

function decodedTensor(t: Record<string, unknown>): { meta: Record<string, unknown>; data: OutputData } {
  const m = pb.OutputTensor.fromObject(t);
  const meta: Record<string, unknown> = pb.OutputTensor.toObject(m, { enums: String, defaults: true });
  delete meta.data;
  return { meta, data: decodeOutput(m, undefined).data };
}

function expectCloseArrays(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(Number(actual[i]) - Number(expected[i])), `${what}[${i}]`).toBeLessThanOrEqual(ATOL);
}

/** Compares a received frame with its expectation: bytes when pinned, else field by field with the file's vary/approx rules. */
function compare(actual: Uint8Array, e: ExpectedFrame, where: string): void {
  if (e.hex) {
    expect(hexOf(actual), where).toBe(e.hex);
    return;
  }
  let got = json(actual);
  let want = e.decoded;
  for (const path of e.vary ?? []) {
    const a = take(got, path);
    expect(Number.isInteger(a.value) && (a.value as number) > 0, `${where}: ${path} = ${String(a.value)} should be a positive integer`).toBe(true);
    got = a.rest;
    want = take(want, path).rest;
  }
  for (const path of e.approx ?? []) {
    const a = take(got, path);
    const w = take(want, path);
    got = a.rest;
    want = w.rest;
    if (path.endsWith('.outputs')) {
      const at = a.value as Record<string, unknown>[];
      const wt = w.value as Record<string, unknown>[];
      expect(at.length, `${where}: ${path}`).toBe(wt.length);
      at.forEach((t, i) => {
        const [x, y] = [decodedTensor(t), decodedTensor(wt[i]!)];
        expect(x.meta, `${where}: ${path}[${i}]`).toEqual(y.meta);
        expectCloseArrays(x.data as ArrayLike<number>, y.data as ArrayLike<number>, `${where}: ${path}[${i}]`);
      });
    } else expectCloseArrays(a.value as number[], w.value as number[], `${where}: ${path}`);
  }
  expect(got, where).toEqual(want);
}

/** Which expectation a reply answers: the HelloAck, the answer or error of an id; id-0 errors in order. */
function keyOf(decoded: Record<string, unknown>): string {
  const [type, body] = Object.entries(decoded)[0]!;
  return type === 'helloAck' ? 'helloAck' : `id:${String((body as { id?: number }).id ?? 0)}`;
}

describe('the committed vectors', () => {
  it('are what scripts/gen-conformance.ts writes today', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'offramp-conformance-'));
    try {
      await promisify(execFile)('npx', ['tsx', join(ROOT, 'scripts', 'gen-conformance.ts'), join(dir, 'c.json')], { cwd: ROOT });
      expect(await readFile(join(dir, 'c.json'), 'utf8'), 'test/fixtures/conformance.json is stale: run npx tsx scripts/gen-conformance.ts').toBe(
        await readFile(FILE, 'utf8'),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('cover the handshake, every rate point, full offload and every error code an edge sends', () => {
    expect(cases.length).toBeGreaterThan(30);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    const codes = new Set(cases.flatMap((c) => c.expect.map((e) => (e.decoded.error as { code?: string } | undefined)?.code).filter(Boolean)));
    for (const code of [
      'BAD_REQUEST',
      'UNSUPPORTED_CODEC',
      'TOO_LARGE',
      'UNKNOWN_MODEL',
      'MODEL_MISMATCH',
      'QUEUE_FULL',
      'DEADLINE_EXCEEDED',
      'UNAUTHENTICATED',
      'UNSUPPORTED_VERSION',
      'DUPLICATE_ID',
      'TOO_MANY_IN_FLIGHT',
      'RATE_LIMITED',
    ]) {
      expect(codes, code).toContain(code);
    }
    for (const name of ['hello', 'split-s1', 'split-u4', 'split-f16', 'full-raw', 'full-downsample']) expect(cases.map((c) => c.name)).toContain(name);
  });
});

describe('every frame decodes and re-encodes byte for byte', () => {
  for (const c of cases) {
    it(c.name, () => {
      c.send.forEach((hex, i) => {
        if (c.malformed?.includes(i)) {
          expect(() => pb.Frame.decode(bytes(hex)), `send[${i}] is listed as malformed`).toThrow();
          return;
        }
        expect(hexOf(pb.Frame.encode(pb.Frame.decode(bytes(hex))).finish()), `send[${i}]`).toBe(hex);
      });
      c.expect.forEach((e, i) => {
        // The decoded form stands for the same frame; where the bytes are pinned, they are its bytes.
        expect(json(fromJson(e.decoded)), `expect[${i}] decoded round trip`).toEqual(e.decoded);
        if (e.hex) {
          expect(json(bytes(e.hex)), `expect[${i}]`).toEqual(e.decoded);
          expect(hexOf(pb.Frame.encode(pb.Frame.decode(bytes(e.hex))).finish()), `expect[${i}] re-encoded`).toBe(e.hex);
        }
      });
    });
  }
});

describe('replayed against a real edge', () => {
  const started = new Map<string, Promise<EdgeServer>>();
  const edgeFor = (options: Record<string, unknown>): Promise<EdgeServer> => {
    const key = JSON.stringify(options);
    let s = started.get(key);
    if (!s) {
      s = createEdgeServer({ models: join(ROOT, 'test', 'fixtures'), port: 0, ...(options as Partial<EdgeServerOptions>) });
      started.set(key, s);
    }
    return s;
  };
  afterAll(async () => {
    await Promise.all([...started.values()].map(async (s) => (await s).close()));
  });

  for (const c of cases) {
    it(c.name, async () => {
      const edge = await edgeFor(c.edge);
      const client = await TestClient.open(edge.url);
      for (const hex of c.send) client.sendRaw(bytes(hex));
      const got: Uint8Array[] = [];
      while (got.length < c.expect.length) got.push((await client.nextFrame()).bytes);
      if (c.close) expect(await client.closed).toEqual(c.close);
      else {
        client.close();
        await client.closed;
      }
      // Nothing beyond what the case lists.
      expect(client.received.length, 'replies').toBe(c.expect.length);
      // Replies to different ids may come in any order; the HelloAck comes first.
      const pending = c.expect.map((e, i) => ({ e, i }));
      got.forEach((b, n) => {
        const k = keyOf(json(b));
        const at = pending.findIndex((p) => keyOf(p.e.decoded) === k);
        expect(at, `reply ${n} (${k}) is not one the case expects`).toBeGreaterThanOrEqual(0);
        const [{ e, i }] = pending.splice(at, 1) as [{ e: ExpectedFrame; i: number }];
        compare(b, e, `${c.name}: expect[${i}]`);
      });
    });
  }
});
