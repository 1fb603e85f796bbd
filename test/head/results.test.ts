/**
 * head/results.ts with a pinned clock: each path's result field by field. On a modelled class
 * the total is the sum of the modelled parts; on a measured one, the call's wall time. Energy is
 * inferenceEnergy on the profile's power, as the policy predicts it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeOutput } from '../../bottleneck/outputs.js';
import { deviceProfile, power } from '../../head/devices.js';
import { inferenceEnergy } from '../../head/energy.js';
import { describeModel, ResultBuilder, serverTimings, zeroTimings, type Answered } from '../../head/results.js';
import { decodeFrame, encodeFrame } from '../../protocol/frame.js';
import type { Manifest } from '../../protocol/manifest.js';
import { pb, type Answer, type AnswerInit } from '../../protocol/messages.js';
import { softmax } from '../../protocol/scores.js';
import { TINY } from './helpers.js';

const manifest = JSON.parse(readFileSync(join(TINY, 'manifest.json'), 'utf8')) as Manifest;
/** tiny as a tensor bundle: its logits are a plain output tensor. */
const tensor: Manifest = { ...manifest, task: 'tensor', outputs: [{ name: 'logits', kind: 'tensor' }] };
const MCU = deviceProfile('mcu', 'wifi', 100);
const HOST = deviceProfile('host', 'lte');
/** The clock reads 1000 ms; calls begin at 990. */
const at1000 = (): number => 1000;
const T0 = 990;
const ZERO_SERVER = { queue: 0, decode: 0, compute: 0 };
const LOGITS = [0.5, 2, 1, -1, 0, 0, 0, 0, 0, -3];

/** An Answer as the transport gets it (decoded from the wire, every field filled). */
function answer(a: Omit<AnswerInit, 'id'>): Answer {
  const r = decodeFrame(encodeFrame({ type: 'answer', answer: { id: 1, ...a } }));
  if (!r.ok || r.message.type !== 'answer') throw new Error('not an answer');
  return r.message.answer;
}
const answered = (a: Answer, ms = 12): Answered => ({ ok: true, answer: a, bytesUp: 27, bytesDown: 60, ms });

describe('describeModel and the timing helpers', () => {
  it('names the class, its compute, its power, the radio and the period', () => {
    expect(describeModel(MCU)).toBe(
      'microcontroller (ESP32-S3 class) (0.139 GMAC/s modelled, 0.235 W active, 0.105 W idle) on WiFi (Huang et al., MobiSys 2012 (tail time checked against AT&T ARO)), one inference every 100 ms',
    );
    expect(describeModel(HOST)).toMatch(/^this machine \(measured\) \(compute measured, 15 W active, 5 W idle\) on LTE .*one inference every — ms$/);
  });

  it("reads the server's stages in ms, undefined in all when the answer has no timings", () => {
    expect(serverTimings(answer({ timings: { queueUs: 1500, decodeUs: 250, computeUs: 2000, batchSize: 1 } }))).toEqual({
      server: { queue: 1.5, decode: 0.25, compute: 2 },
      serverMs: 3.75,
    });
    expect(serverTimings(answer({}))).toEqual({ server: ZERO_SERVER, serverMs: undefined });
    expect(zeroTimings()).toEqual({ head: 0, encode: 0, network: 0, server: ZERO_SERVER, local: 0, total: 0 });
  });
});

describe('exit', () => {
  const probs = Float32Array.from([0.1, 0.6, 0.3, 0, 0, 0, 0, 0, 0, 0]);

  it('on a modelled class: the head alone, its compute at active power, no radio', () => {
    const r = new ResultBuilder(manifest, MCU, undefined, at1000).exit(probs, 0, { topK: 2 }, { headMs: 0.09, headMeasured: 0.5, t0: T0 });
    expect(r).toEqual({
      label: 1,
      labelName: 'Trouser',
      confidence: probs[1],
      scores: Array.from(probs),
      topK: [
        { label: 1, score: probs[1] },
        { label: 2, score: probs[2] },
      ],
      timings: { ...zeroTimings(), head: 0.09, total: 0.09 },
      path: 'exit:0',
      payloadBytes: 0,
      bytesUp: 0,
      bytesDown: 0,
      energy: { ...inferenceEnergy(power(MCU), { computeMs: 0.09, totalMs: 0.09 }), model: describeModel(MCU) },
      measured: { head: 0.5, encode: 0, busy: 0, local: 0, wall: 10 },
    });
    expect(r.energy.computeJ).toBeCloseTo((0.235 * 0.09) / 1000, 15);
    expect(r.energy.radioJ).toBe(0);
  });

  it("on a measured class: the call's wall time", () => {
    const r = new ResultBuilder(manifest, HOST, undefined, at1000).exit(probs, 0, {}, { headMs: 0.5, headMeasured: 0.5, t0: T0 });
    expect(r.timings.total).toBe(10);
    expect(r.topK).toBeUndefined();
  });
});

describe('local', () => {
  const out = { logits: { data: Float32Array.from(LOGITS), dims: [1, 10] } };
  const p = softmax(LOGITS);

  it('a local answer: every score, no bytes, the output tensors when asked (per-sample shape)', () => {
    const b = new ResultBuilder(manifest, MCU, undefined, at1000);
    const r = b.local('local', {}, { headMs: 0.09, headMeasured: 0.5, t0: T0 }, { out, localMs: 0.17, localMeasured: 1 });
    expect(r).toEqual({
      payloadBytes: 0,
      bytesUp: 0,
      bytesDown: 0,
      label: 1,
      labelName: 'Trouser',
      confidence: p[1],
      scores: Array.from(p),
      timings: { ...zeroTimings(), head: 0.09, local: 0.17, total: 0.09 + 0 + 0 + 0.17 },
      path: 'local',
      energy: { ...inferenceEnergy(power(MCU), { computeMs: 0.09 + 0 + 0.17, totalMs: 0.09 + 0 + 0.17 }), model: describeModel(MCU) },
      measured: { head: 0.5, encode: 0, busy: 0, local: 1, wall: 10 },
    });
    expect(b.local('local', { outputs: true }, { headMs: 0, headMeasured: 0, t0: T0 }, { out, localMs: 0.17, localMeasured: 1 }).outputs).toEqual({
      logits: { data: out.logits.data, dims: [10] },
    });
  });

  it('a fallback after a failed send: the reason, what was sent, the transfer’s time and energy', () => {
    const transfer = { up: 27, down: 9, busyMs: 1000, promoted: true };
    const r = new ResultBuilder(manifest, MCU, undefined, at1000).local(
      'fallback',
      {},
      { headMs: 0.09, headMeasured: 0.5, encodeMs: 0.2, t0: T0 },
      { out, localMs: 0.17, localMeasured: 1, fallback: { reason: 'timeout', ratePoint: 's1', payloadBytes: 13, bytesUp: 27 }, transfer },
    );
    expect(r).toMatchObject({ path: 'fallback', reason: 'timeout', ratePoint: 's1', payloadBytes: 13, bytesUp: 27, bytesDown: 9, label: 1 });
    expect(r.timings).toEqual({ ...zeroTimings(), head: 0.09, encode: 0.2, local: 0.17, total: 0.09 + 0.2 + 1000 + 0.17 });
    const work = { computeMs: 0.09 + 0.2 + 0.17, totalMs: 0.09 + 0.2 + 0.17 + 1000, transfer: { upBytes: 27, downBytes: 9, busyMs: 1000, promoted: true } };
    expect(r.energy).toEqual({ ...inferenceEnergy(power(MCU), work), model: describeModel(MCU) });
    expect(r.measured).toEqual({ head: 0.5, encode: 0.2, busy: 1000, local: 1, wall: 10 });
  });

  it('a tensor bundle: label -1 and its output tensors, always', () => {
    const r = new ResultBuilder(tensor, HOST, undefined, at1000).local(
      'local',
      {},
      { headMs: 0, headMeasured: 0, t0: T0 },
      { out, localMs: 2, localMeasured: 2 },
    );
    expect(r).toMatchObject({ label: -1, labelName: undefined, confidence: 0, outputs: { logits: { data: out.logits.data, dims: [10] } } });
    expect(r.scores).toBeUndefined();
    expect(r.timings.total).toBe(10);
  });
});

describe('edge', () => {
  const scores = [0.5, 0.25, 0.125, 0.0625, 0.03125, 0.03125, 0, 0, 0, 0];
  const before = { headMs: 0.09, headMeasured: 0.5, encodeMs: 0.2, t0: T0, promoted: false };

  it("the edge's label, every score with the top k read from them, the network time outside the server", () => {
    const a = answer({ label: 0, confidence: 200, scores, timings: { queueUs: 1500, decodeUs: 250, computeUs: 2000, batchSize: 1 } });
    const r = new ResultBuilder(manifest, MCU, undefined, at1000).edge(answered(a), 's1', 13, { topK: 2 }, before);
    expect(r).toEqual({
      label: 0,
      labelName: 'T-shirt/top',
      confidence: 200 / 255,
      scores,
      topK: [
        { label: 0, score: 0.5 },
        { label: 1, score: 0.25 },
      ],
      path: 'edge',
      ratePoint: 's1',
      payloadBytes: 13,
      bytesUp: 27,
      bytesDown: 60,
      timings: { ...zeroTimings(), head: 0.09, encode: 0.2, network: 8.25, server: { queue: 1.5, decode: 0.25, compute: 2 }, total: 0.09 + 0.2 + 12 },
      energy: {
        ...inferenceEnergy(power(MCU), {
          computeMs: 0.09 + 0.2,
          totalMs: 0.09 + 0.2 + 12,
          transfer: { upBytes: 27, downBytes: 60, busyMs: 12, promoted: false },
        }),
        model: describeModel(MCU),
      },
      measured: { head: 0.5, encode: 0.2, busy: 12, local: 0, wall: 10 },
    });
  });

  it('the top labels as the edge ranked them; no timings: the whole round trip is network', () => {
    const a = answer({ label: 2, confidence: 128, topLabels: [2, 5], scores: [0.5, 0.25] });
    const r = new ResultBuilder(manifest, HOST, undefined, at1000).edge(answered(a, 7), 'input', 784, { topK: 2 }, before);
    expect(r.topK).toEqual([
      { label: 2, score: 0.5 },
      { label: 5, score: 0.25 },
    ]);
    expect(r.scores).toBeUndefined();
    expect(r.timings).toMatchObject({ network: 7, server: ZERO_SERVER, total: 10 });
    expect(r.ratePoint).toBe('input');
  });

  it("a tensor bundle: label -1 and the answer's output tensors, decoded", () => {
    const data = Float32Array.from(LOGITS);
    const t = encodeOutput({ name: 'logits', kind: 'tensor', dtype: 'float32', shape: [10] }, data, {
      encoding: pb.OutputEncoding.OUTPUT_FP32,
      zstd: undefined,
    });
    const r = new ResultBuilder(tensor, HOST, undefined, at1000).edge(answered(answer({ outputs: [t] })), 's1', 13, {}, before);
    expect(r).toMatchObject({ label: -1, labelName: undefined, confidence: 0 });
    expect(r.outputs!.logits!.dims).toEqual([10]);
    expect(r.outputs!.logits!.data).toEqual(data);
  });
});
