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
  if (bits === 4 || bits === 2 || bits === 1) return packAligned(values, bits, mask, out);
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

/** Widths that divide 8: whole values per byte, no carry between bytes. */
function packAligned(values: Uint8Array, bits: number, mask: number, out: Uint8Array): Uint8Array {
  const per = 8 / bits;
  const n = values.length;
  const whole = n - (n % per);
  let o = 0;
  let i = 0;
  if (bits === 4) {
    for (; i < whole; i += 2) out[o++] = (values[i]! & 15) | ((values[i + 1]! & 15) << 4);
  } else if (bits === 2) {
    for (; i < whole; i += 4) out[o++] = (values[i]! & 3) | ((values[i + 1]! & 3) << 2) | ((values[i + 2]! & 3) << 4) | ((values[i + 3]! & 3) << 6);
  } else {
    for (; i < whole; i += 8) {
      out[o++] =
        (values[i]! & 1) |
        ((values[i + 1]! & 1) << 1) |
        ((values[i + 2]! & 1) << 2) |
        ((values[i + 3]! & 1) << 3) |
        ((values[i + 4]! & 1) << 4) |
        ((values[i + 5]! & 1) << 5) |
        ((values[i + 6]! & 1) << 6) |
        ((values[i + 7]! & 1) << 7);
    }
  }
  let last = 0;
  for (let s = 0; i < n; i++, s += bits) last |= (values[i]! & mask) << s;
  if (whole !== n) out[o] = last;
  return out;
}

/** Unpacks widths that divide 8; returns the last byte's unused (padding) bits. */
function unpackAligned(bytes: Uint8Array, bits: number, count: number, out: Uint8Array): number {
  const per = 8 / bits;
  const whole = count - (count % per);
  let j = 0;
  let i = 0;
  if (bits === 4) {
    for (; i < whole; i += 2) {
      const b = bytes[j++]!;
      out[i] = b & 15;
      out[i + 1] = b >>> 4;
    }
  } else if (bits === 2) {
    for (; i < whole; i += 4) {
      const b = bytes[j++]!;
      out[i] = b & 3;
      out[i + 1] = (b >>> 2) & 3;
      out[i + 2] = (b >>> 4) & 3;
      out[i + 3] = b >>> 6;
    }
  } else {
    for (; i < whole; i += 8) {
      const b = bytes[j++]!;
      out[i] = b & 1;
      out[i + 1] = (b >>> 1) & 1;
      out[i + 2] = (b >>> 2) & 1;
      out[i + 3] = (b >>> 3) & 1;
      out[i + 4] = (b >>> 4) & 1;
      out[i + 5] = (b >>> 5) & 1;
      out[i + 6] = (b >>> 6) & 1;
      out[i + 7] = b >>> 7;
    }
  }
  if (whole === count) return 0;
  const mask = (1 << bits) - 1;
  let b = bytes[j]!;
  for (; i < count; i++, b >>>= bits) out[i] = b & mask;
  return b;
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
  if (bits === 4 || bits === 2 || bits === 1) {
    if (unpackAligned(bytes, bits, count, out) !== 0) throw new OfframpError('BAD_REQUEST', 'packed payload has non-zero padding bits');
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
