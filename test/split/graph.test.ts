import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { onnx } from '../../split/generated/onnx.js';
import { candidateCuts, cutModel, readModel, setFloatType, writeModel, type Model } from '../../split/graph.js';
import { failure, RESNET } from './helpers.js';

const open = (m: Model | Uint8Array): Promise<ort.InferenceSession> => ort.InferenceSession.create(m instanceof Uint8Array ? m : writeModel(m));
/** Deterministic inputs in [0, 1). */
const input = (i: number): ort.Tensor =>
  new ort.Tensor(
    'float32',
    Float32Array.from({ length: 784 }, (_, k) => ((k * 7919 + i * 104729) % 997) / 997),
    [1, 1, 28, 28],
  );

describe('reading ONNX', () => {
  it('refuses what is not an ONNX model with MODEL_INVALID', async () => {
    const good = await readFile(RESNET);
    expect(await failure(() => readModel(Uint8Array.from({ length: 256 }, (_, i) => (i * 37) & 0xff)))).toMatch(/^MODEL_INVALID/);
    expect(await failure(() => readModel(good.subarray(0, good.length / 2)))).toMatch(/^MODEL_INVALID/);
    expect(await failure(() => readModel(new Uint8Array(0)))).toMatch(/^MODEL_INVALID: not an ONNX model: it has no graph/);
    const broken = readModel(good);
    broken.graph!.node![3]!.input![0] = 'nowhere';
    expect(await failure(() => readModel(writeModel(broken)))).toMatch(/^MODEL_INVALID: node 3 \(Relu .*reads 'nowhere'/);
  });

  it('round-trips a model byte for byte through the generated schema', async () => {
    const bytes = await readFile(RESNET);
    expect(Buffer.from(onnx.ModelProto.encode(onnx.ModelProto.decode(bytes)).finish()).equals(bytes)).toBe(true);
  });
});

describe('cutting', () => {
  it('lists the articulation points of a graph with skip connections, in topological order', async () => {
    const m = readModel(await readFile(RESNET));
    expect(candidateCuts(m)).toEqual([
      '/stem/stem.0/Conv_output_0',
      '/stem/stem.2/Relu_output_0',
      '/layer1/Add_output_0',
      '/layer1/Relu_1_output_0',
      '/layer2/Add_output_0',
      '/layer2/Relu_1_output_0',
      '/layer3/Add_output_0',
      '/layer3/Relu_1_output_0',
      '/GlobalAveragePool_output_0',
      '/Flatten_output_0',
    ]);
  });

  it('every candidate cut of a ResNet round-trips to the original outputs (atol 1e-4)', async () => {
    const bytes = await readFile(RESNET);
    const m = readModel(bytes);
    const full = await open(bytes);
    const xs = [0, 1, 2].map(input);
    const want = await Promise.all(xs.map(async (x) => (await full.run({ input: x })).logits!.data as Float32Array));
    for (const t of candidateCuts(m)) {
      const cut = cutModel(m, [t]);
      expect(cut.headNodes + cut.tailNodes).toBe(m.graph!.node!.length);
      const head = await open(cut.head);
      for (let i = 0; i < xs.length; i++) {
        const act = (await head.run({ input: xs[i]! }))[t]!;
        setFloatType(cut.tail.graph!.input![0]!, ['N', ...act.dims.slice(1).map(Number)]);
        const tail = await open(cut.tail);
        const got = (await tail.run({ [t]: act })).logits!.data as Float32Array;
        for (let j = 0; j < got.length; j++) expect(Math.abs(got[j]! - want[i]![j]!), `${t}[${j}]`).toBeLessThanOrEqual(1e-4);
        await tail.release();
      }
      await head.release();
    }
    await full.release();
  }, 120_000);

  it('refuses a cut inside a residual block, naming what the tail still needs; widen adds it', async () => {
    const m = readModel(await readFile(RESNET));
    expect(await failure(() => cutModel(m, ['/layer1/conv2/Conv_output_0']))).toBe(
      "CUT_INVALID: the cut at '/layer1/conv2/Conv_output_0' does not separate the graph: the tail also needs '/stem/stem.2/Relu_output_0'; --widen adds them to the cut",
    );
    expect(await failure(() => cutModel(m, ['nope']))).toBe("CUT_INVALID: no node computes a tensor named 'nope'");
    expect(await failure(() => cutModel(m, ['input']))).toBe("CUT_INVALID: 'input' is a graph input or initializer, not a tensor a node computes");
    expect(await failure(() => cutModel(m, []))).toBe('CUT_INVALID: name at least one tensor to cut at');
    expect(cutModel(m, ['/layer1/conv2/Conv_output_0'], { widen: true }).tensors).toEqual(['/layer1/conv2/Conv_output_0', '/stem/stem.2/Relu_output_0']);
  });
});
