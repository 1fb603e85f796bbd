/**
 * The bottleneck's entropy coder: a 32-bit multi-symbol arithmetic coder (Witten, Neal and
 * Cleary's, with pending bits for an interval that straddles the middle) over integer CDF tables
 * that sum to 2^16, bits written MSB first. It ends with the fewest bits that pin a value inside
 * the final interval; the decoder reads zero bits past the end, so trailing zero bytes are
 * dropped. The Python reference is bottleneck/train/rangecoder.py; docs/PROTOCOL.md specifies
 * both ("Entropy codec"). All arithmetic is exact in float64 (products stay below 2^48).
 */

/** Table entries are integers summing to 2^PRECISION. */
export const CDF_PRECISION = 16;
const TOTAL = 2 ** CDF_PRECISION;
const TOP = 2 ** 32 - 1;
const HALF = 2 ** 31;
const QUARTER = 2 ** 30;

/** One channel's table: symbol `offset + i` has frequency `cdf[i + 1] - cdf[i]`. */
export interface CdfTable {
  /** The smallest symbol of the support. */
  offset: number;
  /** Cumulative frequencies: cdf[0] = 0, strictly increasing, cdf[length - 1] = 2^16. */
  cdf: Uint32Array;
}

/** Largest payload `count` symbols can take: each costs at most 17 bits (a frequency of 1 in 2^16 with the interval's rounding), plus the coder's end. */
export function maxEncodedBytes(count: number): number {
  return Math.ceil((count * (CDF_PRECISION + 1)) / 8) + 8;
}

/** Checks a table's shape; returns the problem or undefined. */
export function tableProblem(t: CdfTable): string | undefined {
  const c = t.cdf;
  if (!Number.isInteger(t.offset)) return `offset ${t.offset} is not an integer`;
  if (c.length < 2) return 'a table needs at least one symbol';
  if (c[0] !== 0) return `cdf must start at 0, not ${c[0]}`;
  if (c[c.length - 1] !== TOTAL) return `cdf must end at ${TOTAL}, not ${c[c.length - 1]}`;
  for (let i = 1; i < c.length; i++) if (c[i]! <= c[i - 1]!) return `cdf must increase strictly (entry ${i})`;
  return undefined;
}

class BitWriter {
  private bytes: Uint8Array;
  private pos = 0;
  private acc = 0;
  private n = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }

  /** `bit`, then `pending` copies of the other bit. */
  put(bit: number, pending: number): void {
    this.one(bit);
    const other = bit ^ 1;
    for (let i = 0; i < pending; i++) this.one(other);
  }

  private one(bit: number): void {
    this.acc = (this.acc << 1) | bit;
    if (++this.n === 8) {
      if (this.pos === this.bytes.length) this.grow();
      this.bytes[this.pos++] = this.acc;
      this.acc = 0;
      this.n = 0;
    }
  }

  private grow(): void {
    const next = new Uint8Array(this.bytes.length * 2 + 16);
    next.set(this.bytes);
    this.bytes = next;
  }

  /** The bytes written, the last one zero-padded, trailing zero bytes dropped. */
  finish(): Uint8Array {
    if (this.n > 0) {
      if (this.pos === this.bytes.length) this.grow();
      this.bytes[this.pos++] = this.acc << (8 - this.n);
    }
    let end = this.pos;
    while (end > 0 && this.bytes[end - 1] === 0) end--;
    return this.bytes.slice(0, end);
  }
}

/**
 * Encodes `symbols` (channel-major: symbol i uses `tables[floor(i / perChannel)]`). Symbols
 * outside a table's support are a RangeError (the codec clamps before calling this).
 */
export function rangeEncode(symbols: ArrayLike<number>, tables: readonly CdfTable[], perChannel: number): Uint8Array {
  const out = new BitWriter(Math.min(maxEncodedBytes(symbols.length), 64 + symbols.length));
  let low = 0;
  let high = TOP;
  let pending = 0;
  if (!(Number.isInteger(perChannel) && perChannel >= 1) && symbols.length > 0)
    throw new RangeError(`perChannel must be a positive integer, got ${perChannel}`);
  // Channel by channel: one table lookup per channel, not per symbol.
  for (let start = 0; start < symbols.length; start += perChannel) {
    const t = tables[(start / perChannel) | 0]!;
    const cdf = t.cdf;
    const last = cdf.length - 1;
    const end = Math.min(start + perChannel, symbols.length);
    for (let i = start; i < end; i++) {
      const s = symbols[i]! - t.offset;
      if (!(s >= 0 && s < last)) throw new RangeError(`symbol ${symbols[i]} at ${i} is outside its table's support [${t.offset}, ${t.offset + last - 1}]`);
      const range = high - low + 1;
      high = low + Math.floor((range * cdf[s + 1]!) / TOTAL) - 1;
      low = low + Math.floor((range * cdf[s]!) / TOTAL);
      for (;;) {
        if (high < HALF) {
          out.put(0, pending);
          pending = 0;
        } else if (low >= HALF) {
          out.put(1, pending);
          pending = 0;
          low -= HALF;
          high -= HALF;
        } else if (low >= QUARTER && high < HALF + QUARTER) {
          pending++;
          low -= QUARTER;
          high -= QUARTER;
        } else break;
        low *= 2;
        high = high * 2 + 1;
      }
    }
  }
  // The shortest v = m * 2^(32-k) inside [low, high]; with pending bits, at least one bit goes out.
  let k = pending > 0 ? 1 : 0;
  let v = 0;
  for (; k <= 32; k++) {
    const unit = 2 ** (32 - k);
    v = Math.ceil(low / unit) * unit;
    if (v <= high) break;
  }
  for (let i = 0; i < k; i++) out.put(Math.floor(v / 2 ** (31 - i)) % 2, i === 0 ? pending : 0);
  return out.finish();
}

/**
 * Decodes `out.length` symbols from `bytes` (zero bits past the end), writing symbol × `step` (1:
 * the symbols themselves; the feature codec passes its quantization step and a Float32Array, so
 * the features come out without a second pass). Every byte string decodes to in-support symbols;
 * the caller bounds `bytes.length` ({@link maxEncodedBytes}).
 *
 * Two shortcuts leave every result as the textbook decoder's (the Python reference's): a channel
 * whose table has one symbol moves neither end of the interval and reads no bit, so it is filled
 * without arithmetic; and the most probable symbol is tried first by comparing the value with its
 * interval, `low + floor(range × cdf[s] / 2^16) <= value`, which holds exactly when
 * `cdf[s] <= floor(((value − low + 1) × 2^16 − 1) / range)` (the textbook's target), so the
 * division and the search run only for the other symbols.
 */
export function rangeDecode<T extends Int32Array | Float32Array>(bytes: Uint8Array, tables: readonly CdfTable[], perChannel: number, out: T, step = 1): T {
  if (!(Number.isInteger(perChannel) && perChannel >= 1) && out.length > 0) throw new RangeError(`perChannel must be a positive integer, got ${perChannel}`);
  // Bits are read inline (pos: the next bit; zero past the end).
  const nbits = bytes.length * 8;
  let pos = 0;
  let value = 0;
  for (; pos < 32; pos++) value = value * 2 + (pos < nbits ? (bytes[pos >> 3]! >> (7 - (pos & 7))) & 1 : 0);
  let low = 0;
  let high = TOP;
  for (let start = 0; start < out.length; start += perChannel) {
    const t = tables[(start / perChannel) | 0]!;
    const cdf = t.cdf;
    const offset = t.offset;
    const end = Math.min(start + perChannel, out.length);
    if (cdf.length === 2) {
      out.fill(offset * step, start, end);
      continue;
    }
    const mode = modeOf(t);
    const modeLow = cdf[mode]! / TOTAL;
    const modeHigh = cdf[mode + 1]! / TOTAL;
    const modeValue = (mode + offset) * step;
    for (let i = start; i < end; i++) {
      const range = high - low + 1;
      let nextLow = low + Math.floor(range * modeLow);
      let nextHigh = low + Math.floor(range * modeHigh) - 1;
      if (value >= nextLow && value <= nextHigh) out[i] = modeValue;
      else {
        const target = Math.floor(((value - low + 1) * TOTAL - 1) / range);
        // The s with cdf[s] <= target < cdf[s + 1].
        let lo = 0;
        let hi = cdf.length - 2;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (cdf[mid]! <= target) lo = mid;
          else hi = mid - 1;
        }
        out[i] = (lo + offset) * step;
        nextHigh = low + Math.floor((range * cdf[lo + 1]!) / TOTAL) - 1;
        nextLow = low + Math.floor((range * cdf[lo]!) / TOTAL);
      }
      low = nextLow;
      high = nextHigh;
      for (;;) {
        if (high < HALF) {
          // nothing to subtract
        } else if (low >= HALF) {
          value -= HALF;
          low -= HALF;
          high -= HALF;
        } else if (low >= QUARTER && high < HALF + QUARTER) {
          value -= QUARTER;
          low -= QUARTER;
          high -= QUARTER;
        } else break;
        low *= 2;
        high = high * 2 + 1;
        value = value * 2 + (pos < nbits ? (bytes[pos >> 3]! >> (7 - (pos & 7))) & 1 : 0);
        pos++;
      }
    }
  }
  return out;
}

/** Each table's most probable symbol (an index into its cdf; the lowest of equals), found once per table object. */
const modes = new WeakMap<CdfTable, number>();
function modeOf(t: CdfTable): number {
  let m = modes.get(t);
  if (m === undefined) {
    m = 0;
    for (let s = 1; s < t.cdf.length - 1; s++) if (t.cdf[s + 1]! - t.cdf[s]! > t.cdf[m + 1]! - t.cdf[m]!) m = s;
    modes.set(t, m);
  }
  return m;
}
