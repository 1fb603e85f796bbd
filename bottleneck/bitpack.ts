/**
 * Dense bit-packing: value i occupies bits [i·b, i·b + b) of the output, least significant bit
 * first (bit p is bit p mod 8 of byte ⌊p/8⌋). No padding between values; the last byte's unused
 * high bits are zero, and `unpackBits` refuses a payload whose padding bits are not.
 */
import { OfframpError } from '../protocol/errors.js';
import { packedByteLength } from '../protocol/messages.js';

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) throw new RangeError(`bits must be 1..8, got ${bits}`);
}

/** Packs `values` (each < 2^bits) into ⌈n·bits/8⌉ bytes. */
export function packBits(values: Uint8Array, bits: number): Uint8Array {
  checkBits(bits);
  const n = values.length;
  const out: Uint8Array = new Uint8Array(packedByteLength(n, bits));
  if (bits === 8) {
    out.set(values);
    return out;
  }
  const mask = (1 << bits) - 1;
  let acc = 0;
  let held = 0;
  let o = 0;
  for (let i = 0; i < n; i++) {
    acc |= (values[i]! & mask) << held;
    held += bits;
    if (held >= 8) {
      out[o++] = acc & 0xff;
      acc >>>= 8;
      held -= 8;
    }
  }
  if (held > 0) out[o] = acc & 0xff;
  return out;
}

/**
 * Unpacks `count` values of `bits` bits. The payload must be exactly ⌈count·bits/8⌉ bytes with
 * zero padding bits, else BAD_REQUEST (a canonical encoding has one byte string per tensor).
 */
export function unpackBits(bytes: Uint8Array, bits: number, count: number, out: Uint8Array = new Uint8Array(count)): Uint8Array {
  checkBits(bits);
  const expected = packedByteLength(count, bits);
  if (bytes.length !== expected) {
    throw new OfframpError('BAD_REQUEST', `packed payload has ${bytes.length} bytes; ${count} values at ${bits} bits need ${expected}`);
  }
  if (bits === 8) {
    out.set(bytes.subarray(0, count));
    return out;
  }
  const mask = (1 << bits) - 1;
  let acc = 0;
  let held = 0;
  let i = 0;
  for (let j = 0; j < count; j++) {
    if (held < bits) {
      acc |= bytes[i++]! << held;
      held += 8;
    }
    out[j] = acc & mask;
    acc >>>= bits;
    held -= bits;
  }
  if (acc !== 0) throw new OfframpError('BAD_REQUEST', 'packed payload has non-zero padding bits');
  return out;
}
