/**
 * Writes test/fixtures/conformance.json: the protocol v2 conformance vectors (docs/PROTOCOL.md
 * §12) against the committed tiny bundle (test/fixtures/tiny). Deterministic: every frame is
 * built from golden.json, the bundle and the codecs, and every expected reply from the spec and
 * golden.json (PyTorch's logits); only the downsampled full-offload answers run full.onnx.
 * test/protocol/conformance.test.ts replays the vectors against a real edge and fails when this
 * file is out of date. Usage: tsx scripts/gen-conformance.ts [OUT]
 *
 * The file is an array of cases, each one WebSocket connection (subprotocol offramp.v2, no
 * credentials at the upgrade) to an edge serving test/fixtures with the settings in `edge`:
 * - `send`: binary frames as hex, sent in order; `malformed` lists the indices of frames that
 *   are deliberately not valid protobuf (they cannot be decoded and re-encoded);
 * - `expect`: the frames the edge sends back, each `decoded` as proto3 JSON (lowerCamelCase
 *   fields, enum names, bytes in base64, default values omitted) and, where the bytes are fully
 *   determined, `hex`. Replies to different ids may arrive in any order. `vary` names fields whose
 *   value is not pinned (a positive integer is expected: retry hints that depend on time);
 *   `approx` names float fields pinned to 1e-4 (scores, and output tensors once decoded);
 * - `close`: the close the edge ends the connection with, after the replies (refusals).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-node';
import { decodeInput, encodeFeatures, encodeFloat16, encodeInput, loadZstdWasm, resolveRatePoints, topK, type InputEncoding } from '../bottleneck/index.js';
import { loadBundle, type LoadedBundle } from '../protocol/bundle.js';
import { encodeFrame, pb, softmax, type ErrorInit, type HelloInit, type MessageInit, type RequestInit } from '../protocol/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TINY = join(ROOT, 'test', 'fixtures', 'tiny');
const OUT = join(ROOT, 'test', 'fixtures', 'conformance.json');

/** One expected reply. */
export interface ExpectedFrame {
  hex?: string;
  decoded: Record<string, unknown>;
  vary?: string[];
  approx?: string[];
}

/** One connection's worth of frames and replies. */
export interface ConformanceCase {
  name: string;
  description: string;
  /** Edge server options (createEdgeServer) beyond `models` and `port`. */
  edge: Record<string, unknown>;
  send: string[];
  malformed?: number[];
  expect: ExpectedFrame[];
  close?: { code: number; reason: string };
}

interface Golden {
  images: number[][];
  latent: number[][];
  fullLogits: number[][];
  rates: Record<'s1' | 'u4' | 'f16', { tailLogits: number[][]; payloads?: string[] }>;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** Proto3 JSON of a frame. */
const json = (bytes: Uint8Array): Record<string, unknown> =>
  pb.Frame.toObject(pb.Frame.decode(bytes), { enums: String, bytes: String, longs: Number, json: true });

const frame = (m: MessageInit): Uint8Array => encodeFrame(m);
const hello = (h: HelloInit): string => hex(frame({ type: 'hello', hello: h }));
const request = (r: RequestInit): string => hex(frame({ type: 'request', request: r }));

/** An expected frame: pinned byte for byte, or with `vary` fields left out of the pin. */
function expected(m: MessageInit, o: { vary?: string[]; approx?: string[] } = {}): ExpectedFrame {
  const bytes = frame(m);
  const e: ExpectedFrame = { decoded: json(bytes) };
  if (!o.vary?.length && !o.approx?.length) e.hex = hex(bytes);
  if (o.vary?.length) e.vary = o.vary;
  if (o.approx?.length) e.approx = o.approx;
  return e;
}

const err = (e: ErrorInit, vary?: string[]): ExpectedFrame => expected({ type: 'error', error: e }, { vary });
const E = pb.ErrorCode;

/**
 * The class fields of an answer for `logits`: label = argmax, confidence = round(255 p). Throws when
 * 255 p is within 0.01 of a rounding boundary: the edge's own float results could round the other way.
 */
function classOf(logits: readonly number[]): { label: number; confidence: number; p: Float32Array } {
  const p = softmax(logits);
  const label = topK(p, 1)[0]!;
  const x = 255 * p[label]!;
  if (Math.abs(x - Math.floor(x) - 0.5) < 0.01) throw new Error(`confidence 255·${p[label]} is too close to a rounding boundary to pin`);
  return { label, confidence: Math.round(x), p };
}

/** Every conformance case, against the committed tiny bundle (see the module comment). */
// Long on purpose: a data table — one call per case, each with its frames and expected replies; its helpers close over the bundle and fixtures set up at the top.
export async function conformanceCases(): Promise<ConformanceCase[]> {
  const bundle: LoadedBundle = await loadBundle(TINY);
  const golden = JSON.parse(readFileSync(join(TINY, 'golden.json'), 'utf8')) as Golden;
  const zstd = await loadZstdWasm();
  const m = bundle.manifest;
  const ratePoints = resolveRatePoints(m, bundle.tables);
  const ref = { id: m.id, version: m.version, manifestSha256: bundle.manifestSha256 };
  const RAW = { codec: pb.InputCodec.INPUT_RAW };
  const DOWNSAMPLE = { codec: pb.InputCodec.INPUT_DOWNSAMPLE, factor: 2, bits: 4 };
  const base: HelloInit = { protocolVersion: 2, clientName: 'conformance', clientVersion: '2', bundle: ref, ratePoints: [0, 1, 2], inputEncodings: [RAW] };
  const h = (over: Partial<HelloInit> = {}): string => hello({ ...base, ...over });
  const maxFrameBytes = Math.max(4 * 2 * 7 * 7, 4 * 28 * 28) + 4096;
  const limits = { maxFrameBytes, maxInFlight: 64, maxBatch: 32, deadlineMs: 10_000, maxDeadlineMs: 60_000 };
  const edge = { serverId: 'conformance', workers: 1 };
  const ack = (over: Record<string, unknown> = {}, limitsOver: Record<string, number> = {}): ExpectedFrame =>
    expected({
      type: 'helloAck',
      helloAck: {
        protocolVersion: 2,
        bundle: ref,
        ratePoints: [0, 1, 2],
        inputEncodings: [0],
        limits: { ...limits, ...limitsOver },
        serverId: 'conformance',
        ...over,
      },
    });
  const refusal = (code: number, name: string, message: string, extra: Partial<ErrorInit> = {}): Pick<ConformanceCase, 'expect' | 'close'> => ({
    expect: [err({ id: 0, code, message, ...extra })],
    close: { code: 1008, reason: name },
  });
  const features = (i: number, rate: number): Uint8Array => encodeFeatures(Float32Array.from(golden.latent[i]!), m.bottleneck.shape, ratePoints[rate]!).payload;
  const image = (i: number): Uint8Array => Uint8Array.from(golden.images[i]!);
  const samples = golden.latent.map((_, i) => i);
  const cases: ConformanceCase[] = [];

  cases.push({
    name: 'hello',
    edge,
    description: "A Hello offering every rate point and raw input; the HelloAck binds them with the edge's default limits (§3).",
    send: [h()],
    expect: [ack()],
  });
  cases.push({
    name: 'hello-intersection',
    edge,
    description:
      'The ack is an intersection (§3): rate points [2, 0, 7, 2] ack [2, 0] (7 is not in the bundle, duplicates go); input encodings ack the indices the edge accepts (1: factor 1 is not a downsample; 4: a codec it does not know); zstd and the output encoding are echoed; deadline_ms is capped at 60 s.',
    send: [
      h({
        ratePoints: [2, 0, 7, 2],
        inputEncodings: [
          RAW,
          { codec: pb.InputCodec.INPUT_DOWNSAMPLE, factor: 1, bits: 4 },
          DOWNSAMPLE,
          { codec: pb.InputCodec.INPUT_JPEG, quality: 50 },
          { codec: 9 as typeof pb.InputCodec.INPUT_RAW },
        ],
        zstd: true,
        outputEncoding: pb.OutputEncoding.OUTPUT_INT8,
        deadlineMs: 120_000,
      }),
    ],
    expect: [ack({ ratePoints: [2, 0], inputEncodings: [0, 2, 3], zstd: true, outputEncoding: pb.OutputEncoding.OUTPUT_INT8 }, { deadlineMs: 60_000 })],
  });

  // Split requests at each rate point: golden.json's latents through the codec, answered from PyTorch's tail logits.
  for (const [rate, id] of (['s1', 'u4', 'f16'] as const).entries()) {
    const codec = m.bottleneck.ratePoints[rate]!.codec;
    const payloads = samples.map((i) => features(i, rate));
    if (id === 's1')
      payloads.forEach((p, i) => {
        if (hex(p) !== golden.rates.s1.payloads![i]) throw new Error(`s1 payload ${i} differs from golden.json`);
      });
    cases.push({
      name: `split-${id}`,
      edge,
      description: `Split requests at rate point ${rate} (${id}, ${codec}): golden.json latent[0..3] coded by the rate point; each answer carries the label and round(255 p) of the tail's logits (golden.json rates.${id}.tailLogits).`,
      send: [h({ ratePoints: [rate] }), ...payloads.map((payload, i) => request({ id: i + 1, payload, rate }))],
      expect: [
        ack({ ratePoints: [rate] }),
        ...samples.map((i) => {
          const { label, confidence } = classOf(golden.rates[id].tailLogits[i]!);
          return expected({ type: 'answer', answer: { id: i + 1, label, confidence } });
        }),
      ],
    });
  }
  {
    const { label, confidence, p } = classOf(golden.rates.u4.tailLogits[0]!);
    const top = topK(p, 3);
    cases.push({
      name: 'split-top-k-scores',
      edge,
      description: 'top_k 3 with WANT_SCORES (§5): the three best labels, best first, and their softmax probabilities in that order (to 1e-4).',
      send: [h(), request({ id: 1, payload: features(0, 1), rate: 1, topK: 3, want: pb.Want.WANT_SCORES })],
      expect: [
        ack(),
        expected({ type: 'answer', answer: { id: 1, label, confidence, topLabels: top, scores: top.map((l) => p[l]!) } }, { approx: ['answer.scores'] }),
      ],
    });
  }
  {
    const logits = golden.rates.f16.tailLogits[1]!;
    const { label, confidence } = classOf(logits);
    const data = new Uint8Array(Float32Array.from(logits).buffer);
    cases.push({
      name: 'split-outputs-fp32',
      edge,
      description: "WANT_OUTPUTS (§5.2): the tail's logits as an FP32 tensor of shape [10], float32 little-endian (to 1e-4 once decoded).",
      send: [h(), request({ id: 1, payload: features(1, 2), rate: 2, want: pb.Want.WANT_OUTPUTS })],
      expect: [
        ack(),
        expected(
          {
            type: 'answer',
            answer: {
              id: 1,
              label,
              confidence,
              outputs: [{ name: 'logits', dtype: pb.DataType.FP32, shape: [10], encoding: pb.OutputEncoding.OUTPUT_FP32, data }],
            },
          },
          { approx: ['answer.outputs'] },
        ),
      ],
    });
  }

  // Full offload.
  cases.push({
    name: 'full-raw',
    edge,
    description: "Full offload, INPUT_RAW (§7): golden.json images[0..3] as 784 uint8 bytes; answers from full.onnx's logits (golden.json fullLogits).",
    send: [h({ ratePoints: [], inputEncodings: [RAW] }), ...samples.map((i) => request({ id: i + 1, graph: pb.Graph.GRAPH_FULL, payload: image(i) }))],
    expect: [
      ack({ ratePoints: [], inputEncodings: [0] }),
      ...samples.map((i) => expected({ type: 'answer', answer: { id: i + 1, ...pick(classOf(golden.fullLogits[i]!)) } })),
    ],
  });
  {
    const wrapped = zstd.compress(image(0), 3);
    cases.push({
      name: 'full-raw-zstd',
      edge,
      description: 'Full offload, INPUT_RAW wrapped in one zstd frame (level 3, content size declared; §6.4), zstd agreed in the Hello.',
      send: [h({ ratePoints: [], zstd: true }), request({ id: 1, graph: pb.Graph.GRAPH_FULL, payload: wrapped, zstd: true })],
      expect: [ack({ ratePoints: [], zstd: true }), expected({ type: 'answer', answer: { id: 1, ...pick(classOf(golden.fullLogits[0]!)) } })],
    });
  }
  {
    const enc: InputEncoding = { codec: 'downsample', factor: 2, bits: 4 };
    const session = await ort.InferenceSession.create(bundle.paths.full);
    const answers: ExpectedFrame[] = [];
    for (const i of samples) {
      const rebuilt = decodeInput(encodeInput(image(i), m.input.raw.shape, enc).payload, false, m.input.raw.shape, enc);
      const x = Float32Array.from(rebuilt, (v) => v * m.input.normalization.scale);
      const out = await session.run({ [m.graphs.full.inputs[0]!.name]: new ort.Tensor('float32', x, [1, ...m.input.shape]) });
      answers.push(expected({ type: 'answer', answer: { id: i + 1, ...pick(classOf(Array.from(out.logits!.data as Float32Array))) } }));
    }
    await session.release();
    cases.push({
      name: 'full-downsample',
      edge,
      description:
        'Full offload, INPUT_DOWNSAMPLE factor 2, 4 bits (§7): 14×14 block means quantized to 4 bits, 98 bytes; answers from full.onnx on the image the edge rebuilds.',
      send: [
        h({ ratePoints: [], inputEncodings: [DOWNSAMPLE] }),
        ...samples.map((i) => request({ id: i + 1, graph: pb.Graph.GRAPH_FULL, payload: encodeInput(image(i), m.input.raw.shape, enc).payload })),
      ],
      expect: [ack({ ratePoints: [], inputEncodings: [0] }), ...answers],
    });
  }

  // Refusals (§3): Error id 0, then close 1008 with the code's name.
  const other = 'b'.repeat(64);
  for (const v of [0, 1, 3]) {
    cases.push({
      name: `refused-version-${v}`,
      edge,
      description: `protocol_version ${v}: UNSUPPORTED_VERSION with supported_versions [2], then close 1008.`,
      send: [h({ protocolVersion: v })],
      ...refusal(E.UNSUPPORTED_VERSION, 'UNSUPPORTED_VERSION', `protocol version ${v} is not spoken here; supported: 2`, { supportedVersions: [2] }),
    });
  }
  cases.push({
    name: 'refused-version-1-undecodable',
    edge,
    malformed: [0],
    description: 'A Hello whose protocol_version (1) comes first and whose rest does not decode under this schema: the version is read before anything else.',
    send: ['0a040801127f'],
    ...refusal(E.UNSUPPORTED_VERSION, 'UNSUPPORTED_VERSION', 'protocol version 1 is not spoken here; supported: 2', { supportedVersions: [2] }),
  });
  cases.push({
    name: 'refused-unknown-model',
    edge,
    description: 'A bundle the edge does not serve: UNKNOWN_MODEL.',
    send: [h({ bundle: { ...ref, id: 'nope' } })],
    ...refusal(E.UNKNOWN_MODEL, 'UNKNOWN_MODEL', 'this edge does not serve nope 0.2.0 (it serves tiny@0.2.0)'),
  });
  cases.push({
    name: 'refused-model-mismatch',
    edge,
    description: 'The same id and version with another manifest hash: MODEL_MISMATCH.',
    send: [h({ bundle: { ...ref, manifestSha256: other } })],
    ...refusal(E.MODEL_MISMATCH, 'MODEL_MISMATCH', `tiny 0.2.0 here has manifest sha256 ${bundle.manifestSha256}, not ${other}`),
  });
  cases.push({
    name: 'refused-bad-hash',
    edge,
    description: 'manifest_sha256 must be 64 lower-case hex: BAD_REQUEST.',
    send: [h({ bundle: { ...ref, manifestSha256: bundle.manifestSha256.toUpperCase() } })],
    ...refusal(E.BAD_REQUEST, 'BAD_REQUEST', 'bundle.manifest_sha256 must be 64 lower-case hex characters'),
  });
  cases.push({
    name: 'refused-device-id',
    edge,
    description: 'A device_id of 1 byte (empty or 16..64 bytes): BAD_REQUEST.',
    send: [h({ deviceId: Uint8Array.of(7) })],
    ...refusal(E.BAD_REQUEST, 'BAD_REQUEST', 'device_id must be empty or 16..64 bytes (128 bits or more), got 1'),
  });
  cases.push({
    name: 'refused-nothing-to-send',
    edge,
    description: 'No rate point and no input encoding the edge accepts: BAD_REQUEST "nothing to send" (an empty offer is not an offer of everything).',
    send: [h({ ratePoints: [], inputEncodings: [] })],
    ...refusal(E.BAD_REQUEST, 'BAD_REQUEST', "nothing to send: none of the Hello's rate points [] or input encodings is served (3 rate points)"),
  });
  cases.push({
    name: 'refused-first-frame-not-hello',
    edge,
    description: 'A Request before any Hello: BAD_REQUEST.',
    send: [request({ id: 1, payload: features(0, 0) })],
    ...refusal(E.BAD_REQUEST, 'BAD_REQUEST', 'the first frame must be a Hello'),
  });
  const auth = { ...edge, auth: { type: 'shared-secret', secret: 's3cret' } };
  cases.push({
    name: 'refused-unauthenticated',
    edge: auth,
    description: 'An edge that requires a token (shared secret "s3cret"); none at the upgrade, none in the Hello: UNAUTHENTICATED.',
    send: [h()],
    ...refusal(E.UNAUTHENTICATED, 'UNAUTHENTICATED', 'Hello: missing token'),
  });
  cases.push({
    name: 'refused-wrong-token',
    edge: auth,
    description: 'A wrong Hello.auth_token: UNAUTHENTICATED.',
    send: [h({ authToken: 'wrong' })],
    ...refusal(E.UNAUTHENTICATED, 'UNAUTHENTICATED', 'Hello: wrong token'),
  });
  cases.push({
    name: 'auth-token-in-hello',
    edge: auth,
    description: 'No token at the upgrade, the right one in Hello.auth_token: accepted.',
    send: [h({ authToken: 's3cret' })],
    expect: [ack()],
  });

  // Requests that end in an error (§4, §6, §9), each on an accepted connection.
  const onAccepted = (
    name: string,
    description: string,
    requests: string[],
    errors: ExpectedFrame[],
    o: {
      hello?: Partial<HelloInit>;
      ack?: Record<string, unknown>;
      limits?: Record<string, number>;
      edge?: Record<string, unknown>;
      malformed?: number[];
    } = {},
  ): void => {
    cases.push({
      name,
      description,
      edge: { ...edge, ...o.edge },
      send: [h(o.hello), ...requests],
      expect: [ack(o.ack, o.limits), ...errors],
      ...(o.malformed ? { malformed: o.malformed.map((i) => i + 1) } : {}),
    });
  };
  const u4 = (id: number, bytes: number): string => request({ id, rate: 1, payload: new Uint8Array(bytes) });
  onAccepted(
    'rate-not-agreed',
    'Hello rate_points [0] acks [0]; a request at rate 1 is BAD_REQUEST.',
    [request({ id: 1, payload: features(0, 1), rate: 1 })],
    [err({ id: 1, code: E.BAD_REQUEST, message: 'rate point 1 was not agreed in the handshake (agreed: 0)' })],
    { hello: { ratePoints: [0] }, ack: { ratePoints: [0] } },
  );
  onAccepted(
    'input-encoding-not-agreed',
    'A full-offload request naming an input encoding the ack does not list: BAD_REQUEST.',
    [request({ id: 1, graph: pb.Graph.GRAPH_FULL, rate: 1, payload: image(0) })],
    [err({ id: 1, code: E.BAD_REQUEST, message: 'input encoding 1 was not agreed in the handshake (agreed: 0)' })],
  );
  onAccepted(
    'zstd-not-agreed',
    'A zstd-wrapped payload without zstd in the handshake: UNSUPPORTED_CODEC.',
    [request({ id: 1, rate: 2, payload: zstd.compress(encodeFloat16(new Float32Array(98)), 3), zstd: true })],
    [err({ id: 1, code: E.UNSUPPORTED_CODEC, message: 'zstd payloads were not agreed in the handshake' })],
  );
  onAccepted(
    'payload-too-large',
    'A u4 payload of 50 bytes (98 values at 4 bits are 49): TOO_LARGE.',
    [u4(1, 50)],
    [err({ id: 1, code: E.TOO_LARGE, message: 'payload of 50 bytes is larger than rate point 1 can produce (49)' })],
  );
  onAccepted(
    'payload-too-short',
    'A u4 payload of 48 bytes: BAD_REQUEST.',
    [u4(1, 48)],
    [err({ id: 1, code: E.BAD_REQUEST, message: 'payload has 48 bytes; expected 49' })],
  );
  onAccepted(
    'entropy-zstd',
    'An entropy-coded payload marked zstd (zstd agreed): BAD_REQUEST (§6.1).',
    [request({ id: 1, payload: features(0, 0), zstd: true })],
    [err({ id: 1, code: E.BAD_REQUEST, message: 'entropy-coded payloads are never zstd-wrapped' })],
    { hello: { zstd: true }, ack: { zstd: true } },
  );
  {
    const x = new Float32Array(98);
    x[5] = NaN;
    onAccepted(
      'float16-nan',
      'A float16 payload holding a NaN: BAD_REQUEST (§6.3).',
      [request({ id: 1, rate: 2, payload: encodeFloat16(x) })],
      [err({ id: 1, code: E.BAD_REQUEST, message: 'feature value 5 is not finite (NaN)' })],
    );
  }
  {
    // Frame header: magic, FHD 0xe0 (8-byte content size, single segment), 256 MiB; one RLE block of 1 KiB.
    const bomb = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0x03, 0x20, 0x00, 0x00]);
    onAccepted(
      'zstd-bomb',
      'A 17-byte zstd frame claiming 256 MiB for a 196-byte float16 payload: TOO_LARGE, refused from the header (§6.4).',
      [request({ id: 1, rate: 2, payload: bomb, zstd: true })],
      [err({ id: 1, code: E.TOO_LARGE, message: 'zstd frame claims 268435456 bytes; the declared tensor holds 196' })],
      { hello: { zstd: true }, ack: { zstd: true } },
    );
  }
  {
    const big = frame({ type: 'request', request: { id: 1, payload: new Uint8Array(maxFrameBytes) } });
    onAccepted(
      'frame-too-large',
      `A frame of ${big.length} bytes, over max_frame_bytes (${maxFrameBytes}) and under twice it: TOO_LARGE with its id; the connection stays open (§9.4).`,
      [hex(big), request({ id: 2, payload: features(0, 0) })],
      [
        err({ id: 1, code: E.TOO_LARGE, message: `frame of ${big.length} bytes exceeds the limit of ${maxFrameBytes}` }),
        expected({ type: 'answer', answer: { id: 2, ...pick(classOf(golden.rates.s1.tailLogits[0]!)) } }),
      ],
    );
  }
  {
    const whole = frame({ type: 'request', request: { id: 5, payload: features(0, 0) } });
    onAccepted(
      'truncated-request',
      "A request frame cut short: BAD_REQUEST carrying its id, read from the frame's start (§9.2).",
      [hex(whole.subarray(0, 8))],
      [err({ id: 5, code: E.BAD_REQUEST, message: 'malformed frame: index out of range' })],
      { malformed: [0] },
    );
  }
  onAccepted(
    'not-a-request',
    'A frame after the Hello that is not a Request (an Answer): BAD_REQUEST id 0, before any field is read (§9.2).',
    [hex(frame({ type: 'answer', answer: { id: 9, label: 1 } }))],
    [err({ id: 0, code: E.BAD_REQUEST, message: 'after the Hello a device sends only Request frames' })],
  );
  onAccepted(
    'missing-id',
    'A request without an id: BAD_REQUEST id 0.',
    [request({ payload: features(0, 0) })],
    [err({ id: 0, code: E.BAD_REQUEST, message: 'id is required (1 .. 2^32 - 1)' })],
  );
  onAccepted(
    'unknown-want',
    'want bit 8 is not defined: BAD_REQUEST.',
    [request({ id: 1, payload: features(0, 0), want: 8 })],
    [err({ id: 1, code: E.BAD_REQUEST, message: 'want 8 sets unknown flags (known: 7)' })],
  );
  onAccepted(
    'top-k-too-large',
    'top_k above 1024: BAD_REQUEST.',
    [request({ id: 1, payload: features(0, 0), topK: 1025 })],
    [err({ id: 1, code: E.BAD_REQUEST, message: 'top_k 1025 is more than 1024' })],
  );
  onAccepted(
    'unknown-graph',
    'graph 2 is not defined: BAD_REQUEST.',
    [request({ id: 1, payload: features(0, 0), graph: 2 as typeof pb.Graph.GRAPH_TAIL })],
    [err({ id: 1, code: E.BAD_REQUEST, message: 'graph 2 is not a known value' })],
  );
  const s1 = (i: number): Record<string, number> => pick(classOf(golden.rates.s1.tailLogits[i]!));
  onAccepted(
    'duplicate-id',
    'The same id twice while the first waits in the batcher (batches of 2, 10 s): the id ends once, DUPLICATE_ID, and the first is never answered; id 2 then runs alone (§9.1).',
    [request({ id: 1, payload: features(0, 0) }), request({ id: 1, payload: features(1, 0) }), request({ id: 2, payload: features(2, 0) })],
    [
      err({ id: 1, code: E.DUPLICATE_ID, message: 'request id 1 was sent again while in flight; both end here' }),
      expected({ type: 'answer', answer: { id: 2, ...s1(2) } }),
    ],
    { edge: { maxBatch: 2, maxQueueDelayUs: 10_000_000 }, limits: { maxBatch: 2 } },
  );
  onAccepted(
    'too-many-in-flight',
    'A window of 1 (max_in_flight): the second request while the first waits is TOO_MANY_IN_FLIGHT (§8).',
    [request({ id: 1, payload: features(0, 0) }), request({ id: 2, payload: features(1, 0) })],
    [err({ id: 2, code: E.TOO_MANY_IN_FLIGHT, message: '1 requests in flight; the limit is 1' }), expected({ type: 'answer', answer: { id: 1, ...s1(0) } })],
    { edge: { maxInFlight: 1, maxQueueDelayUs: 100_000 }, limits: { maxInFlight: 1 } },
  );
  onAccepted(
    'queue-full',
    'A queue of 1: the second request is QUEUE_FULL with a retry_after_ms, decided before its payload is decoded (this one would not decode) (§8).',
    [request({ id: 1, payload: features(0, 0) }), u4(2, 48)],
    [
      err({ id: 2, code: E.QUEUE_FULL, message: 'queue for tiny@0.2.0/tail holds 1 requests' }, ['error.retryAfterMs']),
      expected({ type: 'answer', answer: { id: 1, ...s1(0) } }),
    ],
    { edge: { maxQueue: 1, maxQueueDelayUs: 100_000 } },
  );
  onAccepted(
    'deadline-exceeded',
    'A 5 ms deadline while the batcher waits up to 200 ms: DEADLINE_EXCEEDED, not computed (§9.5).',
    [request({ id: 1, payload: features(0, 0), deadlineMs: 5 })],
    [err({ id: 1, code: E.DEADLINE_EXCEEDED, message: 'the deadline passed while the request was queued; it was not computed' })],
    { edge: { maxQueueDelayUs: 200_000 } },
  );
  onAccepted(
    'rate-limited',
    'A rate limit of 1 frame/s, burst 1 (announced in the ack): the second frame is RATE_LIMITED with the time to the next token (§8).',
    [request({ id: 1, payload: features(0, 0) }), request({ id: 2, payload: features(1, 0) })],
    [
      err({ id: 2, code: E.RATE_LIMITED, message: 'more than 1 frames/s on this connection' }, ['error.retryAfterMs']),
      expected({ type: 'answer', answer: { id: 1, ...s1(0) } }),
    ],
    { edge: { rateLimitPerSecond: 1, rateBurst: 1 }, limits: { rateLimitPerSecond: 1, rateBurst: 1 } },
  );
  return cases;
}

function pick(c: { label: number; confidence: number }): { label: number; confidence: number } {
  return { label: c.label, confidence: c.confidence };
}

/** The file's text: the cases with their keys in a fixed order. */
export function conformanceJson(cases: ConformanceCase[]): string {
  const ordered = cases.map((c) => ({
    name: c.name,
    description: c.description,
    edge: c.edge,
    send: c.send,
    ...(c.malformed ? { malformed: c.malformed } : {}),
    expect: c.expect.map((e) => ({
      ...(e.hex ? { hex: e.hex } : {}),
      decoded: e.decoded,
      ...(e.vary ? { vary: e.vary } : {}),
      ...(e.approx ? { approx: e.approx } : {}),
    })),
    ...(c.close ? { close: c.close } : {}),
  }));
  return JSON.stringify(ordered, null, 2) + '\n';
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = process.argv[2] ?? OUT;
  writeFileSync(out, conformanceJson(await conformanceCases()));
  console.log(`wrote ${out}`);
}
