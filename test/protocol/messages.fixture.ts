/**
 * Shared by the frame, field and property tests: one valid message of each kind with every field
 * written out (a decoded message has them all), the schema read by protobufjs reflection straight
 * from offramp.proto, and `plain()`, which reads every field the schema declares off a decoded
 * message (prototype defaults included) so a comparison sees them all.
 */
import { join } from 'node:path';
import protobuf from 'protobufjs';
import type { Answer, Hello, HelloAck, Request, WireError } from '../../protocol/index.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const PROTO = join(ROOT, 'protocol', 'offramp.proto');

/** offramp.proto through protobufjs reflection (not the generated code). */
export const schema = protobuf.loadSync(PROTO);
schema.resolveAll();

/** A message type of the schema, e.g. `type('Hello')`. */
export function type(name: string): protobuf.Type {
  return schema.lookupType(`offramp.v2.${name}`);
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

/** Every field `t` declares, read from `m` (absent nested messages as null, bytes as plain Uint8Array). */
export function plain(t: protobuf.Type, m: unknown): Record<string, unknown> {
  const src = m as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of t.fieldsArray) {
    const v = src[f.name];
    const nested = f.resolvedType instanceof protobuf.Type ? f.resolvedType : undefined;
    const one = (x: unknown): unknown => (nested ? plain(nested, x) : f.type === 'bytes' ? Uint8Array.from(x as Uint8Array) : x);
    if (f.repeated) out[f.name] = ((v ?? []) as unknown[]).map(one);
    else out[f.name] = nested && v == null ? null : one(v);
  }
  return out;
}

export const SHA = 'ab'.repeat(32);
const bundle = { id: 'tiny', version: '0.2.0', manifestSha256: SHA };
/** Wire bytes of `bundle` as a BundleRef: 0a 04 "tiny", 12 05 "0.2.0", 1a 40 <64 hex chars>. */
export const BUNDLE_HEX = '0a0474696e79' + '1205302e322e30' + '1a40' + '6162'.repeat(32);

export const hello: Hello = {
  protocolVersion: 2,
  clientName: 'sdk',
  clientVersion: '0.2.0',
  bundle,
  ratePoints: [0, 2],
  inputEncodings: [
    { codec: 1, factor: 0, bits: 0, quality: 0 },
    { codec: 2, factor: 2, bits: 4, quality: 0 },
  ],
  zstd: true,
  outputEncoding: 1,
  deadlineMs: 250,
  authToken: 't',
  deviceId: new Uint8Array(16).fill(0x11),
};

/**
 * 0a 8b01: Frame field 1 (hello), 139 bytes. 08 02 version; 12 03 "sdk"; 1a 05 "0.2.0";
 * 22 4f bundle; 2a 02 00 02 rate points (packed); 32 02 {08 01}, 32 06 {08 02 10 02 18 04} input
 * encodings; 38 01 zstd; 40 01 FP16; 48 fa01 250 ms; 52 01 "t"; 5a 10 <16 × 11> device id.
 */
export const HELLO_HEX =
  '0a8b01' +
  '0802' +
  '120373646b' +
  '1a05302e322e30' +
  '224f' +
  BUNDLE_HEX +
  '2a020002' +
  '32020801' +
  '3206080210021804' +
  '3801' +
  '4001' +
  '48fa01' +
  '520174' +
  '5a10' +
  '11'.repeat(16);

export const helloAck: HelloAck = {
  protocolVersion: 2,
  bundle,
  ratePoints: [0, 2],
  inputEncodings: [0],
  zstd: true,
  outputEncoding: 1,
  limits: { maxFrameBytes: 65536, maxInFlight: 64, maxBatch: 32, deadlineMs: 10_000, maxDeadlineMs: 60_000, rateLimitPerSecond: 100, rateBurst: 200 },
  serverId: 'edge-1',
};

/**
 * 12 7c: field 2, 124 bytes. 08 02; 12 4f bundle; 1a 02 00 02; 22 01 00; 28 01; 30 01;
 * 3a 14 limits {08 808004 (65536), 10 40, 18 20, 20 904e (10000), 28 e0d403 (60000), 30 64, 38 c801};
 * 42 06 "edge-1".
 */
export const HELLO_ACK_HEX =
  '127c' +
  '0802' +
  '124f' +
  BUNDLE_HEX +
  '1a020002' +
  '220100' +
  '2801' +
  '3001' +
  '3a14' +
  '08808004' +
  '1040' +
  '1820' +
  '20904e' +
  '28e0d403' +
  '3064' +
  '38c801' +
  '4206656467652d31';

/** Every field set: a full-offload request. */
export const request: Request = {
  id: 300,
  payload: Uint8Array.from([0xab, 0xcd]),
  rate: 1,
  graph: 1,
  zstd: true,
  deadlineMs: 50,
  want: 7,
  topK: 3,
};

/** 1a 13; 08 ac02 (300); 12 02 abcd; 18 01; 20 01 GRAPH_FULL; 28 01; 30 32 (50); 38 07; 40 03. */
export const REQUEST_HEX = '1a13' + '08ac02' + '1202abcd' + '1801' + '2001' + '2801' + '3032' + '3807' + '4003';

export const answer: Answer = {
  id: 5,
  label: 2,
  confidence: 200,
  topLabels: [2, 0],
  scores: [0.75, 0.25],
  timings: { queueUs: 10, decodeUs: 20, computeUs: 300, batchSize: 4 },
  outputs: [{ name: 'y', dtype: 1, shape: [2], encoding: 2, scale: 0.5, zeroPoint: 2, zstd: true, data: Uint8Array.from([2, 4]) }],
};

/**
 * 22 3c; 08 05; 10 02; 18 c801 (200); 22 02 02 00 top labels; 2a 08 0000403f 0000803e scores
 * (float32 LE); 32 09 timings {08 0a, 10 14, 18 ac02, 20 04}; 3a 1a output {0a 01 "y", 10 01
 * FP32, 1a 01 02 shape, 20 02 INT8, 2d 0000003f scale 0.5, 35 00000040 zero point 2, 38 01 zstd,
 * 42 02 0204}.
 */
export const ANSWER_HEX =
  '223c' +
  '0805' +
  '1002' +
  '18c801' +
  '22020200' +
  '2a080000403f0000803e' +
  '3209080a101418ac022004' +
  '3a1a' +
  '0a0179' +
  '1001' +
  '1a0102' +
  '2002' +
  '2d0000003f' +
  '3500000040' +
  '3801' +
  '42020204';

export const error: WireError = { id: 7, code: 7, message: 'full', retryAfterMs: 50, supportedVersions: [] };

/** 2a 0c; 08 07; 10 07 QUEUE_FULL; 1a 04 "full"; 20 32 (50 ms). */
export const ERROR_HEX = '2a0c' + '0807' + '1007' + '1a0466756c6c' + '2032';
