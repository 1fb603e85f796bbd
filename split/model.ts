/**
 * Reading a model for profile, recommend and split alike: the model fixed up (split/prepare.ts),
 * its outputs described (class logits only when the user says so), its samples loaded and
 * normalised as the SDK would; and onnxruntime sessions opened and timed the same way everywhere.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { OfframpError } from '../protocol/errors.js';
import type { OutputDesc } from './answers.js';
import { inputSpec, loadSamples, toModelInput, type InputOptions, type InputSpec } from './data.js';
import { prepareModel, type PreparedModel } from './prepare.js';

/** Reports progress: a stage name, and how far it is. */
export type Progress = (stage: string, done: number, total: number) => void;

/** What profile, recommend and split all need to read a model and its inputs. */
export interface ModelOptions extends InputOptions {
  /** `--shape`: the input's dims (batch dim optional). */
  shape?: number[];
  /** The first output holds class logits (or probabilities from a final Softmax). */
  classes?: boolean;
  /** `--data`: real samples (IDX, .npy, or a folder); default seeded noise. */
  data?: string;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Opens a graph (onnxruntime, one thread, optimised). */
export async function openSession(bytes: Uint8Array, level: 'basic' | 'all' = 'all'): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, { graphOptimizationLevel: level, intraOpNumThreads: 1 });
  } catch (e) {
    throw new OfframpError('MODEL_INVALID', `onnxruntime cannot open the graph: ${(e as Error).message}`, { cause: e });
  }
}

/** Median ms of `runs` runs (after one warm-up per feed). */
export async function timeSession(s: ort.InferenceSession, feeds: Record<string, ort.Tensor>[], runs: number): Promise<number> {
  for (const f of feeds) await s.run(f);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await s.run(feeds[i % feeds.length]!);
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** The output descriptions: the first output is class logits when `classes` (and it is [N, k]). */
export function describeOutputs(p: PreparedModel, classes: boolean | undefined): OutputDesc[] {
  return p.outputs.map((o, i) => {
    const classLike = i === 0 && classes;
    if (classLike && (o.sampleShape.length !== 1 || o.dtype !== 'float32')) {
      throw new OfframpError(
        'INVALID_ARGUMENT',
        `--classes: the first output '${o.name}' is ${o.dtype} [N, ${o.sampleShape.join(', ')}]; class logits are float32 [N, classes] (leave --classes out: the outputs are then answered as tensors)`,
      );
    }
    return { name: o.name, kind: classLike ? 'class-logits' : 'tensor', dtype: o.dtype, shape: o.sampleShape };
  });
}

/** A loaded model with its samples as model inputs: what profile and split start from. */
export interface LoadedModel {
  path: string;
  bytes: Uint8Array;
  prepared: PreparedModel;
  input: InputSpec;
  outputs: OutputDesc[];
  samples: { raw: (Uint8Array | Float32Array)[]; inputs: Float32Array[]; source: string; real: boolean };
}

/** Reads a model, fixes it up (split/prepare.ts) and loads `count` samples. */
export async function loadModel(path: string, o: ModelOptions, count: number): Promise<LoadedModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new OfframpError('MODEL_INVALID', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { cause: e });
  }
  const prepared = await prepareModel(bytes, { ...(o.shape ? { shape: o.shape } : {}), ...(o.classes ? { classes: true } : {}) });
  const input = inputSpec(prepared.input.sampleShape, o);
  const outputs = describeOutputs(prepared, o.classes);
  const set = await loadSamples(input, count, o.data);
  return { path, bytes, prepared, input, outputs, samples: { ...set, inputs: set.raw.map((r) => toModelInput(r, input)) } };
}

/** Just the options that read the model and its inputs. */
export function modelOptionsOf(o: ModelOptions): ModelOptions {
  const keys = ['shape', 'classes', 'data', 'rawDtype', 'layout', 'modelLayout', 'scale', 'mean', 'std'] as const;
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = k === 'data' ? resolve(o.data!) : o[k];
  return out;
}
