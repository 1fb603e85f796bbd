/** One valid message of each kind, shared by the frame, property and hostile-input tests. */
import type { ErrorMessage, Hello, HelloAck, InferRequest, InferResponse } from '../../protocol/index.js';

export const SHA = 'ab'.repeat(32);

export const hello: Hello = {
  type: 'hello',
  protocolVersion: 1,
  clientName: 'sdk',
  clientVersion: '0.1.0',
  bundle: { id: 'tiny', version: '0.1.0', manifestSha256: SHA },
  codecs: ['none', 'zstd'],
  bitWidths: [2, 4, 8],
  authToken: '',
  deviceId: '',
};

export const helloAck: HelloAck = {
  type: 'helloAck',
  protocolVersion: 1,
  bundle: { id: 'tiny', version: '0.1.0', manifestSha256: SHA },
  codecs: ['zstd'],
  bitWidths: [4],
  limits: { maxFrameBytes: 65536, maxInFlight: 32, maxBatch: 16 },
  serverId: 'edge-1',
};

/** A [1, 2, 2] tensor at 4 bits, per channel: 4 values → 2 bytes. */
export const inferRequest: InferRequest = {
  type: 'inferRequest',
  id: 'r1',
  name: 'features',
  datatype: 'FP32',
  encoding: { shape: [1, 2, 2], bits: 4, scale: [0.5, 0.25], zeroPoint: [0, 8], axis: 1, codec: 'none', uncompressedBytes: 2 },
  raw: Uint8Array.from([0x21, 0x43]),
  exitIndex: 0,
  exitConfidence: 0.5,
  deadlineMs: 100,
  graph: 'tail',
};

export const inferResponse: InferResponse = {
  type: 'inferResponse',
  id: 'r1',
  label: 1,
  scores: [0.25, 0.75],
  topLabels: [],
  timings: { queueUs: 10, decodeUs: 20, computeUs: 300 },
  batchSize: 2,
};

export const errorMessage: ErrorMessage = { type: 'error', id: 'r1', code: 'QUEUE_FULL', message: 'full', retryAfterMs: 50 };
