/**
 * The bundle contract: `manifest.json` beside head.onnx, tail.onnx and full.onnx. The schema is
 * the single source of truth (types are inferred from it); the Python exporter writes it.
 */
import { z } from 'zod';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex characters');
const probability = z.number().min(0).max(1);
/** Dims; -1 marks a dynamic dimension (the batch). */
const dims = z.array(z.number().int().min(-1)).min(1).max(8);
const bitKey = z.string().regex(/^[1-8]$|^16$|^32$/, 'must be a bit width (1..8, 16, 32)');

/** One graph input or output. */
export const TensorSpecSchema = z.strictObject({
  name: z.string().min(1),
  shape: dims,
  dtype: z.enum(['float32', 'uint8', 'int64']),
});

/** One ONNX file of the bundle and the signature it must have. */
export const GraphSpecSchema = z.strictObject({
  file: z.string().regex(/^[A-Za-z0-9._-]+\.onnx$/, 'must be a plain file name ending in .onnx'),
  sha256,
  inputs: z.array(TensorSpecSchema).min(1),
  outputs: z.array(TensorSpecSchema).min(1),
});

/** One row of an exit's calibration table (measured on the validation split). */
export const ThresholdRowSchema = z.strictObject({
  threshold: probability,
  /** Share of samples whose confidence clears the threshold. */
  exitRate: probability,
  /** Accuracy of the samples that exit. */
  exitAccuracy: probability,
  /** Accuracy of the whole split when those samples exit and the rest go through the tail. */
  overallAccuracy: probability,
});

export const ExitSpecSchema = z.strictObject({
  /** Head output holding this exit's logits [N, labels]. */
  output: z.string().min(1),
  confidence: z.literal('max-prob'),
  thresholds: z.array(ThresholdRowSchema).min(1),
  /** The threshold calibrated to lose at most 0.5 pt against the split model. */
  recommendedThreshold: probability,
});

export const ManifestSchema = z.strictObject({
  schemaVersion: z.literal(1),
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be a lower-case slug'),
  version: z.string().regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, 'must be a semantic version'),
  task: z.literal('classification'),
  labels: z.array(z.string().min(1)).min(2),
  /** A bundle for compute and byte figures only: random weights, no accuracy claims. */
  timingOnly: z.boolean().default(false),
  input: z.strictObject({
    /** Per-sample shape the graphs take (after the batch dim), e.g. [1, 28, 28]. */
    shape: z.array(z.number().int().positive()).min(1),
    layout: z.enum(['NCHW', 'NC']),
    /** model input = (raw · scale − mean[c]) / std[c]; identity when the graph normalises itself. */
    normalization: z.strictObject({
      scale: z.number().positive(),
      mean: z.array(z.number()).min(1),
      std: z.array(z.number().positive()).min(1),
    }),
    /** The raw sample a device captures (e.g. uint8 28×28), which full offload sends. */
    raw: z.strictObject({ dtype: z.literal('uint8'), shape: z.array(z.number().int().positive()).min(1) }),
  }),
  bottleneck: z.strictObject({
    /** Head output and tail input holding the features. */
    headOutput: z.string().min(1),
    tailInput: z.string().min(1),
    /** Per-sample feature shape, e.g. [2, 7, 7]. */
    shape: z.array(z.number().int().positive()).min(1),
    /** Learned/calibrated clamping range the quantizer uses. */
    range: z.strictObject({ min: z.number(), max: z.number() }).refine((r) => r.min < r.max, 'min must be below max'),
    /** Bit widths the weights were trained for. */
    bits: z.array(z.number().int().min(1).max(8)).min(1),
    /** The payload budget the bundle is named for (bytes per sample); picks the default bit width. */
    budgetBytes: z.number().int().positive().optional(),
    /** Validation-split accuracy of the split model per bit width (absent for timing-only bundles). */
    accuracy: z.record(bitKey, probability).optional(),
    /** Largest payload the TS codec produced per sample, per bit width, in bytes. */
    payloadBytes: z.record(bitKey, z.number().int().positive()).optional(),
  }),
  exits: z.array(ExitSpecSchema),
  graphs: z.strictObject({ head: GraphSpecSchema, tail: GraphSpecSchema, full: GraphSpecSchema }),
  /** Test-split accuracy (absent for timing-only bundles). */
  accuracy: z
    .strictObject({
      split: z.literal('test'),
      samples: z.number().int().positive(),
      teacher: probability,
      /** The split model per bit width, every sample through the tail. */
      splitByBits: z.record(bitKey, probability),
    })
    .optional(),
  /** Multiply-accumulates per sample. */
  macs: z.strictObject({ head: z.number().nonnegative(), tail: z.number().nonnegative(), full: z.number().nonnegative() }).optional(),
  provenance: z.strictObject({
    tool: z.string().min(1),
    dataset: z.string().min(1),
    seed: z.number().int(),
    commit: z.string(),
    createdAt: z.string(),
    config: z.record(z.string(), z.unknown()),
  }),
});

/** A validated bundle manifest. */
export type Manifest = z.infer<typeof ManifestSchema>;
/** One graph's file and signature. */
export type GraphSpec = z.infer<typeof GraphSpecSchema>;
/** One graph input or output. */
export type TensorSpec = z.infer<typeof TensorSpecSchema>;
/** The three graphs of a bundle. */
export type GraphName = keyof Manifest['graphs'];
export const GRAPH_NAMES: readonly GraphName[] = ['head', 'tail', 'full'];

/** Validates parsed JSON as a manifest: the manifest, or a list of `path: problem` lines. */
export function parseManifest(json: unknown): { ok: true; manifest: Manifest } | { ok: false; problems: string[] } {
  const r = ManifestSchema.safeParse(json);
  if (r.success) return { ok: true, manifest: r.data };
  return { ok: false, problems: r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`) };
}
