import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageAt, loadFashionMnistTest, type ImageSet } from '../../head/datasets/fashion-mnist.js';
import { DEVICES, parseDevice } from '../../bench/devices.js';
import { LINKS } from '../../bench/link/profiles.js';
import { createDevice } from '../../head/index.js';
import { OfframpError } from '../../protocol/errors.js';
import { splitToBundle } from '../../split/bundle.js';
import { onnx } from '../../split/generated/onnx.js';
import { candidateCuts, cutModel, readModel, setFloatType, writeModel, type Model } from '../../split/graph.js';
import { profileModel, recommend } from '../../split/profile.js';
import { createEdgeServer } from '../../tail/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const RESNET = join(ROOT, 'test', 'fixtures', 'resnet-tiny.onnx');
/** The committed Fashion-MNIST teacher, and a ResNet-style model with skip connections. */
const MODELS = [join(ROOT, 'models', 'fmnist-b32', 'full.onnx'), RESNET];

let data: ImageSet;
let tmp: string;
beforeAll(async () => {
  data = await loadFashionMnistTest();
  tmp = await mkdtemp(join(tmpdir(), 'offramp-split-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const input = (i: number): ort.Tensor => new ort.Tensor('float32', Float32Array.from(imageAt(data, i), (v) => v / 255), [1, 1, 28, 28]);
const open = (m: Model | Uint8Array): Promise<ort.InferenceSession> => ort.InferenceSession.create(m instanceof Uint8Array ? m : writeModel(m));

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return e instanceof OfframpError ? `${e.code}: ${e.message}` : `other: ${String(e)}`;
  }
  return 'no error';
}

describe('reading ONNX', () => {
  it('refuses what is not an ONNX model with MODEL_INVALID', async () => {
    const good = await readFile(RESNET);
    expect(code(() => readModel(Uint8Array.from({ length: 256 }, (_, i) => (i * 37) & 0xff)))).toMatch(/^MODEL_INVALID/);
    expect(code(() => readModel(good.subarray(0, good.length / 2)))).toMatch(/^MODEL_INVALID/);
    expect(code(() => readModel(new Uint8Array(0)))).toMatch(/^MODEL_INVALID: not an ONNX model: it has no graph/);
    const broken = readModel(good);
    broken.graph!.node![3]!.input![0] = 'nowhere';
    expect(code(() => readModel(writeModel(broken)))).toMatch(/^MODEL_INVALID: node 3 \(Relu .*reads 'nowhere'/);
  });
});

describe('cutting', () => {
  it('lists the articulation points of a graph with skip connections, in topological order', async () => {
    const m = readModel(await readFile(RESNET));
    expect(candidateCuts(m)).toEqual([
      '/stem/stem.0/Conv_output_0', '/stem/stem.2/Relu_output_0', '/layer1/Add_output_0', '/layer1/Relu_1_output_0',
      '/layer2/Add_output_0', '/layer2/Relu_1_output_0', '/layer3/Add_output_0', '/layer3/Relu_1_output_0',
      '/GlobalAveragePool_output_0', '/Flatten_output_0',
    ]);
  });

  it.each(MODELS)('every candidate cut of %s round-trips to the original outputs (atol 1e-4)', async (file) => {
    const bytes = await readFile(file);
    const m = readModel(bytes);
    const full = await open(bytes);
    const inName = full.inputNames[0]!;
    const outName = full.outputNames[0]!;
    const xs = [0, 1, 2, 3].map(input);
    const want = await Promise.all(xs.map(async (x) => (await full.run({ [inName]: x }))[outName]!.data as Float32Array));
    const cuts = candidateCuts(m);
    expect(cuts.length).toBeGreaterThan(3);
    for (const t of cuts) {
      const cut = cutModel(m, [t]);
      expect(cut.headNodes + cut.tailNodes).toBe(m.graph!.node!.length);
      const head = await open(cut.head);
      for (let i = 0; i < xs.length; i++) {
        const act = (await head.run({ [inName]: xs[i]! }))[t]!;
        setFloatType(cut.tail.graph!.input![0]!, ['N', ...act.dims.slice(1).map(Number)]);
        const tail = await open(cut.tail);
        const got = (await tail.run({ [t]: act }))[outName]!.data as Float32Array;
        for (let j = 0; j < got.length; j++) expect(Math.abs(got[j]! - want[i]![j]!), `${t}[${j}]`).toBeLessThanOrEqual(1e-4);
        await tail.release();
      }
      await head.release();
    }
    await full.release();
  }, 120_000);

  it('refuses a cut inside a residual block, naming what the tail still needs; --widen packs both tensors', async () => {
    const m = readModel(await readFile(RESNET));
    expect(code(() => cutModel(m, ['/layer1/conv2/Conv_output_0']))).toBe("CUT_INVALID: the cut at '/layer1/conv2/Conv_output_0' does not separate the graph: the tail also needs '/stem/stem.2/Relu_output_0'; --widen adds them to the cut");
    expect(code(() => cutModel(m, ['nope']))).toBe("CUT_INVALID: no node computes a tensor named 'nope'");
    expect(code(() => cutModel(m, ['input']))).toMatch(/^CUT_INVALID: 'input' is a graph input/);
    const r = await splitToBundle({ model: RESNET, at: ['/layer1/conv2/Conv_output_0'], out: join(tmp, 'widened'), widen: true, calibrate: 16, data: join(ROOT, 'data', 'fashion-mnist', 't10k-images-idx3-ubyte.gz') });
    expect(r.cut).toEqual(['/layer1/conv2/Conv_output_0', '/stem/stem.2/Relu_output_0']);
    expect(r.widened).toBe(true);
    expect(r.bottleneck).toMatchObject({ name: 'offramp_bottleneck', shape: [2 * 8 * 28 * 28] });
    expect(r.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(r.agreementByBits['8']).toBeGreaterThanOrEqual(0.9);
  });
});

describe('a split bundle end to end', () => {
  it('is served by the edge server and run by the device SDK unchanged', async () => {
    const models = join(tmp, 'models');
    const r = await splitToBundle({ model: RESNET, at: ['/layer2/Relu_1_output_0'], out: join(models, 'resnet-tiny-split'), calibrate: 64, data: join(ROOT, 'data', 'fashion-mnist', 't10k-images-idx3-ubyte.gz') });
    expect(r.agreementByBits['8']).toBeGreaterThanOrEqual(0.95);
    const edge = await createEdgeServer({ models, port: 0, workers: 1 });
    try {
      const [split, local] = await Promise.all([
        createDevice({ bundle: r.bundle, edge: edge.url, policy: { force: 'always-offload', bits: 8 } }),
        createDevice({ bundle: r.bundle, policy: { force: 'always-local' } }),
      ]);
      let agree = 0;
      for (let i = 0; i < 40; i++) {
        const img = Uint8Array.from(imageAt(data, 100 + i));
        const [a, b] = await Promise.all([split.infer(img), local.infer(img)]);
        expect(a.path).toBe('edge');
        expect(a.bits).toBe(8);
        if (a.label === b.label) agree++;
      }
      expect(agree / 40).toBeGreaterThanOrEqual(0.9);
      await Promise.all([split.close(), local.close()]);
    } finally {
      await edge.close();
    }
  });
});

describe('profile and recommend', () => {
  it('profiles every candidate cut and picks by the link and the device', async () => {
    const p = await profileModel(RESNET, { runs: 3, data: join(ROOT, 'data', 'fashion-mnist', 't10k-images-idx3-ubyte.gz') });
    expect(p.cuts.map((c) => c.tensor)).toEqual(candidateCuts(readModel(await readFile(RESNET))));
    for (const c of p.cuts) {
      expect(c.headMs).toBeGreaterThan(0);
      expect(c.tailMs).toBeGreaterThan(0);
      expect(c.bytes4).toBeLessThan(c.bytes8);
      expect(c.bytes8).toBeLessThanOrEqual(c.rawBytes / 4 + 32);
    }
    expect(p.input.rawZstdBytes).toBeLessThan(784); // real images compress
    // This tiny model is cheaper to run than any network round trip: all on the device.
    expect(recommend(p, LINKS['3g']!, DEVICES.host!, 'latency').best.option).toBe('device');
    // A device 10,000× slower than this host should not compute it all itself on Wi-Fi.
    const slow = recommend(p, LINKS.wifi!, parseDevice('potato:10000:2'), 'latency');
    expect(slow.best.option).not.toBe('device');
    expect(slow.explanation).toContain('modelled');
    const sorted = slow.options.map((o) => o.latencyMs);
    expect(sorted).toEqual([...sorted].sort((a, b) => a - b));
  });
});

describe('generated ONNX schema', () => {
  it('round-trips a model byte for byte', async () => {
    const bytes = await readFile(RESNET);
    expect(Buffer.from(onnx.ModelProto.encode(onnx.ModelProto.decode(bytes)).finish()).equals(bytes)).toBe(true);
  });
});
