/**
 * A proto field that is not mapped fails a test: every message type of offramp.proto (read by
 * protobufjs reflection, not through the generated code) is filled with a non-default value in
 * EVERY field, encoded with encodeFrame and decoded with decodeFrame; every field must come back.
 * A field added to the schema and dropped anywhere on that path (stale generated code, a decoder
 * that copies fields by hand) makes these fail.
 */
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  decodeFrame,
  encodeFrame,
  errorCodeFromWire,
  errorCodeToWire,
  isWireErrorCode,
  pb,
  WANT,
  type MessageInit,
} from '../../protocol/index.js';
import { SHA, plain, schema, type } from './messages.fixture.js';

type Obj = Record<string, unknown>;

/** Constraints validation puts on otherwise arbitrary values (applied after filling). */
const FIX: Record<string, (m: Obj) => void> = {
  BundleRef: (m) => {
    m.manifestSha256 = SHA;
  },
  Request: (m) => {
    m.want = pb.Want.WANT_TIMINGS | pb.Want.WANT_OUTPUTS;
  },
  Answer: (m) => {
    m.confidence = 200;
    (m.topLabels as number[])[0] = m.label as number;
  },
};

/** A distinct, non-default value of field `f` (the n-th of a repeated field). */
function value(f: protobuf.Field, n: number): unknown {
  const t = f.resolvedType;
  if (t instanceof protobuf.Type) return fill(t);
  if (t instanceof protobuf.Enum) {
    const values = Object.values(t.values).filter((v) => v !== 0);
    return values[(values.length - 1 - n) % values.length]; // the largest first
  }
  switch (f.type) {
    case 'uint32':
      return 7 * f.id + n + 1;
    case 'float':
      return 1.5 + f.id + n; // exact in float32
    case 'bool':
      return true;
    case 'string':
      return `${f.name}-${n}`;
    case 'bytes':
      return new Uint8Array(20 + n).fill(f.id);
    default:
      throw new Error(`field ${f.fullName} has type ${f.type}: teach this test a value for it`);
  }
}

/** A message of type `t` with every field set to a non-default value (repeated: two entries). */
function fill(t: protobuf.Type): Obj {
  const m: Obj = {};
  for (const f of t.fieldsArray) m[f.name] = f.repeated ? [value(f, 0), value(f, 1)] : value(f, 0);
  FIX[t.name]?.(m);
  return m;
}

/** Is `v` the proto3 default of its field (recursively: an empty nested message counts as set)? */
function isDefault(v: unknown): boolean {
  return v === 0 || v === false || v === '' || v == null || (Array.isArray(v) && v.length === 0) || (v instanceof Uint8Array && v.length === 0);
}

const frameType = type('Frame');
const frameFields = frameType.oneofs.msg!.fieldsArray;

describe('every field of every message survives encodeFrame → decodeFrame', () => {
  it('covers the five frame messages the schema has', () => {
    expect(frameFields.map((f) => f.name)).toEqual(['hello', 'helloAck', 'request', 'answer', 'error']);
    expect(frameType.fieldsArray.length).toBe(frameFields.length); // nothing outside the oneof
  });

  for (const f of frameFields) {
    const t = f.resolvedType as protobuf.Type;
    it(`${t.name}: ${t.fieldsArray.map((x) => x.name).join(', ')}`, () => {
      const sent = fill(t);
      for (const [k, v] of Object.entries(plain(t, sent))) expect(isDefault(v), `${t.name}.${k} must be set by this test`).toBe(false);
      const frame = encodeFrame({ type: f.name, [f.name]: sent } as unknown as MessageInit);
      // The bytes hold every field (read back with the schema itself)...
      const reflected = frameType.decode(frame) as unknown as Obj;
      expect(plain(t, reflected[f.name])).toEqual(plain(t, sent));
      // ... and decodeFrame hands every one of them back.
      const r = decodeFrame(frame);
      if (!r.ok) throw new Error(`${t.name} did not decode: ${r.error.code} ${r.error.message}`);
      expect(r.message.type).toBe(f.name);
      expect(plain(t, (r.message as unknown as Obj)[f.name])).toEqual(plain(t, sent));
    });

    it(`${t.name}: bytes written from the schema by protobufjs reflection decode to every field`, () => {
      const sent = fill(t);
      const frame = frameType.encode(frameType.fromObject({ [f.name]: sent })).finish();
      const r = decodeFrame(frame);
      if (!r.ok) throw new Error(`${t.name} did not decode: ${r.error.code} ${r.error.message}`);
      expect(plain(t, (r.message as unknown as Obj)[f.name])).toEqual(plain(t, sent));
    });
  }

  it('reaches every message type of the schema from Frame', () => {
    const reached = new Set<string>();
    const walk = (t: protobuf.Type): void => {
      if (reached.has(t.name)) return;
      reached.add(t.name);
      for (const f of t.fieldsArray) if (f.resolvedType instanceof protobuf.Type) walk(f.resolvedType);
    };
    walk(frameType);
    const all = schema.lookup('offramp.v2') as protobuf.Namespace;
    const types = all.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type).map((n) => n.name);
    expect([...reached].sort()).toEqual(types.sort());
  });
});

describe('enums: the schema, the generated code and the TypeScript names agree', () => {
  it('every enum value of the schema is in the generated namespace with the same number', () => {
    const all = schema.lookup('offramp.v2') as protobuf.Namespace;
    const enums = all.nestedArray.filter((n): n is protobuf.Enum => n instanceof protobuf.Enum);
    expect(enums.map((e) => e.name).sort()).toEqual(['DataType', 'ErrorCode', 'Graph', 'InputCodec', 'OutputEncoding', 'Want']);
    for (const e of enums) {
      const generated = (pb as unknown as Record<string, Record<string, number>>)[e.name]!;
      for (const [name, v] of Object.entries(e.values)) expect(generated[name], `${e.name}.${name}`).toBe(v);
    }
  });

  it('every wire ErrorCode is a stable code and back, with the numbers of PROTOCOL.md §9', () => {
    const documented = [
      'BAD_REQUEST',
      'UNSUPPORTED_CODEC',
      'SHAPE_MISMATCH',
      'TOO_LARGE',
      'UNKNOWN_MODEL',
      'MODEL_MISMATCH',
      'QUEUE_FULL',
      'DEADLINE_EXCEEDED',
      'UNAUTHENTICATED',
      'INTERNAL',
      'SHUTTING_DOWN',
      'UNSUPPORTED_VERSION',
      'DUPLICATE_ID',
      'TOO_MANY_IN_FLIGHT',
      'RATE_LIMITED',
    ] as const;
    const values = type('Error').fields.code!.resolvedType as protobuf.Enum;
    expect(Object.keys(values.values).filter((k) => k !== 'ERROR_CODE_UNSPECIFIED')).toEqual([...documented]);
    documented.forEach((code, i) => {
      expect(errorCodeToWire(code)).toBe(i + 1);
      expect(errorCodeFromWire(i + 1)).toBe(code);
      expect(ERROR_CODES).toContain(code);
      expect(isWireErrorCode(code)).toBe(true);
    });
    expect(ERROR_CODES.filter(isWireErrorCode)).toEqual([...documented]);
    expect(errorCodeFromWire(0)).toBeUndefined();
    expect(errorCodeFromWire(16)).toBeUndefined();
  });

  it('WANT flags are the documented bits', () => {
    expect(WANT).toEqual({ timings: 1, scores: 2, outputs: 4 });
  });
});
