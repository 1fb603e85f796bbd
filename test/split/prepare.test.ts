import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { softmax } from '../../protocol/scores.js';
import { readModel } from '../../split/graph.js';
import { constantsToInitializers, parseShape, prepareModel } from '../../split/prepare.js';
import { BATCH1, CLS, failure, SEG } from './helpers.js';

describe('--shape', () => {
  it('reads dims with or without a name, batch as N', () => {
    expect(parseShape('x=1,3,48,320')).toEqual({ name: 'x', dims: [1, 3, 48, 320] });
    expect(parseShape('N,3,16,24')).toEqual({ dims: [-1, 3, 16, 24] });
    expect(parseShape('image=1x3x16x24')).toEqual({ name: 'image', dims: [1, 3, 16, 24] });
  });

  it('says how to write it when a dim is not one', async () => {
    expect(await failure(() => parseShape('x=1,3,H,W'))).toBe(
      "INVALID_ARGUMENT: --shape x=1,3,H,W: 'H' is not a positive dimension (write e.g. --shape x=1,3,224,224)",
    );
    expect(await failure(() => parseShape('x='))).toBe('INVALID_ARGUMENT: --shape x=: no dims (write e.g. --shape x=1,3,224,224)');
  });
});

describe('preparing a model', () => {
  it('refuses dynamic dims with the --shape to write', async () => {
    expect(await failure(() => prepareModel(new Uint8Array(0)))).toMatch(/^MODEL_INVALID: not an ONNX model/);
    const seg = await readFile(SEG);
    expect(await failure(() => prepareModel(seg))).toBe(
      "MODEL_INVALID: input 'image' has dynamic dims [N, 3, H, W]: fix them with --shape image=1,3,<H>,<W> (the sample size the device will capture)",
    );
    expect(await failure(() => prepareModel(seg, { shape: [16, 24] }))).toBe(
      "INVALID_ARGUMENT: --shape gives 2 dims; input 'image' has 4 ([N, 3, H, W]): give them all, batch first",
    );
    expect(await failure(() => prepareModel(seg, { shape: [1, 4, 16, 24] }))).toBe(
      "INVALID_ARGUMENT: --shape [1, 4, 16, 24] sets dim 1 of 'image' to 4, but the model fixes it at 3 ([N, 3, H, W])",
    );
    expect(await failure(() => prepareModel(seg, { shape: [1, 16, 24] }))).toBe(
      "INVALID_ARGUMENT: --shape [1, 16, 24] (read as the sample's dims, without the batch dim) sets dim 1 of 'image' to 1, but the model fixes it at 3 ([N, 3, H, W])",
    );
  });

  it('fixes the dims, reports it, and types every output from a probe run', async () => {
    const p = await prepareModel(await readFile(SEG), { shape: [1, 3, 16, 24] });
    expect(p.fixes).toEqual(["input 'image': [N, 3, H, W] → [N, 3, 16, 24]"]);
    expect(p.input).toEqual({ name: 'image', declared: ['N', 3, 'H', 'W'], sampleShape: [3, 16, 24] });
    expect(p.outputs).toEqual([
      { name: 'mask', dtype: 'float32', sampleShape: [1, 8, 12] },
      { name: 'embedding', dtype: 'float32', sampleShape: [6] },
    ]);
    // Per-sample dims without the batch dim work too, and the same bytes come out.
    const q = await prepareModel(await readFile(SEG), { shape: [3, 16, 24] });
    expect(Buffer.from(q.bytes).equals(Buffer.from(p.bytes))).toBe(true);
  });

  it('turns Constant nodes into initializers', async () => {
    const m = readModel(await readFile(BATCH1));
    expect(m.graph!.node!.filter((n) => n.opType === 'Constant').length).toBe(2);
    expect(constantsToInitializers(m)).toBe(2);
    expect(m.graph!.node!.map((n) => n.opType)).toEqual(['Conv', 'Relu', 'Conv', 'Relu', 'Reshape', 'Gemm', 'Mul', 'Softmax']);
  });

  it('answers a classifier that ends in Softmax from its logits: the same probabilities after softmax', async () => {
    const bytes = await readFile(CLS);
    const p = await prepareModel(bytes, { classes: true });
    expect(p.softmaxRemoved).toBe('/Softmax');
    expect(p.fixes).toEqual([
      '1 Constant nodes became initializers',
      "removed the final Softmax '/Softmax': the bundle answers from logits, and answers apply the softmax (same probabilities)",
    ]);
    const [orig, logits] = await Promise.all([ort.InferenceSession.create(bytes), ort.InferenceSession.create(p.bytes)]);
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 768 }, (_, i) => ((i * 31) % 17) / 17),
      [1, 3, 16, 16],
    );
    const want = (await orig.run({ x })).probs!.data as Float32Array;
    const got = softmax((await logits.run({ x })).probs!.data as Float32Array);
    for (let i = 0; i < 4; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-6);
    // Without --classes the output stays the model's own.
    expect((await prepareModel(bytes)).softmaxRemoved).toBeUndefined();
  });

  it('refuses models with more than one input, or a non-float input', async () => {
    const m = readModel(await readFile(CLS));
    m.graph!.input!.push({ ...m.graph!.input![0]!, name: 'y' });
    m.graph!.node![0]!.input!.push('y');
    const { writeModel } = await import('../../split/graph.js');
    expect(await failure(() => prepareModel(writeModel(m)))).toMatch(/^MODEL_INVALID: offramp takes models with one input .*this one has 2: 'x', 'y'/);
  });
});
