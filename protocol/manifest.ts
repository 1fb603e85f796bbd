/**
 * The bundle contract: `manifest.json` beside head.onnx, tail.onnx, full.onnx and the files its
 * rate points name (entropy tables). This zod schema is the single source of truth: the TS types
 * are inferred from it, and `npm run gen:schema` writes it as JSON Schema
 * (protocol/manifest.schema.json) for the Python writers, which validate against it before
 * writing.
 */
import { z } from 'zod';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex characters');
const probability = z.number().min(0).max(1);
/** Dims; -1 marks a dynamic dimension (the batch). */
const dims = z.array(z.number().int().min(-1)).min(1).max(8);
const positiveDims = z.array(z.number().int().positive()).min(1).max(8);
const fileName = z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be a plain file name');
export const DTYPES = ['float32', 'float16', 'uint8', 'int8', 'int32', 'int64', 'bool'] as const;

/** One graph input or output. */
export const TensorSpecSchema = z.strictObject({
  name: z.string().min(1),
  shape: dims,
  dtype: z.enum(DTYPES),
});

/** One ONNX file of the bundle and the signature it must have. */
export const GraphSpecSchema = z.strictObject({
  file: fileName.regex(/\.onnx$/, 'must end in .onnx'),
  sha256,
  inputs: z.array(TensorSpecSchema).min(1),
  outputs: z.array(TensorSpecSchema).min(1),
});

/** A file beside the manifest, hashed like the graphs. */
export const FileRefSchema = z.strictObject({ file: fileName, sha256 });

/** Payload size per sample over an evaluation set, bytes. */
export const PayloadStatsSchema = z.strictObject({
  mean: z.number().nonnegative(),
  p99: z.number().nonnegative(),
  max: z.number().nonnegative(),
  /** The entropy model's estimate of the mean (ideal code length under its tables), bytes. */
  estimated: z.number().nonnegative().optional(),
  /** Where they were measured, e.g. "test (10000)". */
  over: z.string().min(1),
});

const ratePointCommon = {
  /** A short name, unique in the bundle (e.g. "s1", "u8"). */
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,31}$/, 'must be a short lower-case name'),
  /** Validation-split accuracy of the split model at this rate point (the policy weighs it). */
  accuracy: probability.optional(),
  /** Measured payload sizes (the policy's byte estimate uses the mean). */
  bytes: PayloadStatsSchema.optional(),
};

/**
 * One way of coding the bottleneck. `entropy`: symbols floor(x/step + 0.5), clamped to each
 * channel's support, range-coded with the CDF tables in `tables` (docs/PROTOCOL.md). `uniform`:
 * `bits`-bit affine quantization over [min, max] per channel (one entry: per tensor), bit-packed.
 * `float16` / `float32`: little-endian values.
 */
export const RatePointSchema = z.discriminatedUnion('codec', [
  z.strictObject({ ...ratePointCommon, codec: z.literal('entropy'), step: z.number().positive(), tables: FileRefSchema }),
  z.strictObject({
    ...ratePointCommon,
    codec: z.literal('uniform'),
    bits: z.number().int().min(1).max(8),
    min: z.array(z.number()).min(1),
    max: z.array(z.number()).min(1),
  }),
  z.strictObject({ ...ratePointCommon, codec: z.literal('float16') }),
  z.strictObject({ ...ratePointCommon, codec: z.literal('float32') }),
]);

/** The entropy tables file: one CDF table per channel (docs/PROTOCOL.md, "Entropy codec"). */
export const EntropyTablesSchema = z.strictObject({
  precision: z.literal(16),
  channels: z.array(z.strictObject({ offset: z.number().int(), cdf: z.array(z.number().int().min(0).max(65536)).min(2) })).min(1),
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

/**
 * What a tail (and full) output holds: `class-logits` [N, labels] (answers carry label and
 * confidence, softmax applied), or any `tensor` (answers carry the tensor itself).
 */
export const OutputSpecSchema = z.strictObject({
  name: z.string().min(1),
  kind: z.enum(['class-logits', 'tensor']),
});

/** How a split reproduces its original model (bring-your-own-model bundles). */
export const AgreementSchema = z.strictObject({
  inputs: z.string().min(1),
  samples: z.number().int().positive(),
  /** Per rate point id: top-1 agreement (class logits) or tensor error figures, worst over outputs. */
  byRate: z.record(
    z.string(),
    z.strictObject({
      top1: probability.optional(),
      maxAbsError: z.number().nonnegative().optional(),
      relError: z.number().nonnegative().optional(),
      cosine: z.number().min(-1).max(1).optional(),
    }),
  ),
});

export const ManifestSchema = z.strictObject({
  schemaVersion: z.literal(2),
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be a lower-case slug'),
  version: z.string().regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, 'must be a semantic version'),
  /** `classification`: the first output is class logits over `labels`. `tensor`: any outputs. */
  task: z.enum(['classification', 'tensor']),
  labels: z.array(z.string().min(1)).default([]),
  /** A bundle for compute and byte figures only: no accuracy claims. */
  timingOnly: z.boolean().default(false),
  input: z.strictObject({
    /** Per-sample shape the graphs take (after the batch dim), e.g. [1, 28, 28]. */
    shape: positiveDims,
    /** The model input's layout. */
    layout: z.enum(['NCHW', 'NHWC', 'NC', 'other']),
    /** model input = (raw · scale − mean[c]) / std[c], c the channel (the SDK applies it). */
    normalization: z.strictObject({
      scale: z.number().positive(),
      mean: z.array(z.number()).min(1),
      std: z.array(z.number().positive()).min(1),
    }),
    /**
     * The raw sample a device captures, which full offload sends. `layout` HWC: interleaved
     * channels (a camera frame), transposed by the SDK when the model takes NCHW.
     */
    raw: z.strictObject({
      dtype: z.enum(['uint8', 'float32']),
      shape: positiveDims,
      layout: z.enum(['CHW', 'HWC', 'plain']).default('plain'),
    }),
  }),
  bottleneck: z.strictObject({
    /** Head output and tail input holding the features. */
    headOutput: z.string().min(1),
    tailInput: z.string().min(1),
    /** Per-sample feature shape, e.g. [24, 7, 7]; channels are dim 0. */
    shape: positiveDims,
    ratePoints: z.array(RatePointSchema).min(1).max(64),
    /** Index of the rate point a device uses unless told otherwise. */
    defaultRatePoint: z.number().int().nonnegative().default(0),
  }),
  exits: z.array(ExitSpecSchema),
  /** The tail's outputs in order (full.onnx has the same). */
  outputs: z.array(OutputSpecSchema).min(1),
  graphs: z.strictObject({ head: GraphSpecSchema, tail: GraphSpecSchema, full: GraphSpecSchema }),
  /** Test-split accuracy (classification bundles that are not timing-only). */
  accuracy: z
    .strictObject({
      split: z.literal('test'),
      samples: z.number().int().positive(),
      teacher: probability,
      /** The split model per rate point id, every sample through the tail. */
      splitByRate: z.record(z.string(), probability),
      /** With the recommended exit threshold at the default rate point. */
      withExits: probability.optional(),
    })
    .optional(),
  agreement: AgreementSchema.optional(),
  /** Multiply-accumulates per sample. */
  macs: z
    .strictObject({
      head: z.number().nonnegative(),
      exits: z.number().nonnegative().optional(),
      tail: z.number().nonnegative(),
      full: z.number().nonnegative(),
    })
    .optional(),
  provenance: z.strictObject({
    tool: z.string().min(1),
    dataset: z.string().min(1),
    /** Where the weights came from. */
    weights: z.enum(['trained', 'pretrained', 'random']),
    seed: z.number().int().optional(),
    commit: z.string(),
    createdAt: z.string(),
    source: z.string().optional(),
    config: z.record(z.string(), z.unknown()),
  }),
});

/** A validated bundle manifest. */
export type Manifest = z.infer<typeof ManifestSchema>;
/** One graph's file and signature. */
export type GraphSpec = z.infer<typeof GraphSpecSchema>;
/** One graph input or output. */
export type TensorSpec = z.infer<typeof TensorSpecSchema>;
/** One rate point as the manifest describes it. */
export type RatePointSpec = z.infer<typeof RatePointSchema>;
/** The entropy tables file. */
export type EntropyTables = z.infer<typeof EntropyTablesSchema>;
/** The three graphs of a bundle. */
export type GraphName = keyof Manifest['graphs'];
export const GRAPH_NAMES: readonly GraphName[] = ['head', 'tail', 'full'];

/** Validates parsed JSON as a manifest: the manifest, or a list of `path: problem` lines. */
export function parseManifest(json: unknown): { ok: true; manifest: Manifest } | { ok: false; problems: string[] } {
  const r = ManifestSchema.safeParse(json);
  if (r.success) return { ok: true, manifest: r.data };
  return { ok: false, problems: r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`) };
}

/** The manifest schema as JSON Schema (draft 2020-12), for writers in other languages. */
export function manifestJsonSchema(): Record<string, unknown> {
  return { $comment: 'GENERATED by scripts/gen-schema.ts from protocol/manifest.ts. Do not edit.', ...z.toJSONSchema(ManifestSchema, { io: 'input' }) };
}

/** {@link manifestJsonSchema} as the text of protocol/manifest.schema.json. */
export function manifestJsonSchemaText(): string {
  return `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`;
}
