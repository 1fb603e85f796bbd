import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CDF_PRECISION, cdfTables, maxEncodedBytes, rangeDecode, rangeEncode, tableProblem, type CdfTable } from '../../bottleneck/index.js';
import type { EntropyTables } from '../../protocol/index.js';
import { TOTAL, anySymbol, drawSymbols, idealBits, int, randomTable, rng, type TableKind } from './random.fixture.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TINY = join(ROOT, 'test', 'fixtures', 'tiny');
const REFERENCE = join(ROOT, 'bottleneck', 'train', 'rangecoder.py');

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const table = (offset: number, cdf: number[]): CdfTable => ({ offset, cdf: Uint32Array.from(cdf) });
const decode = (b: Uint8Array, tables: readonly CdfTable[], per: number): number[] =>
  Array.from(rangeDecode(b, tables, per, new Int32Array(tables.length * per)));

/** bottleneck/train/rangecoder.py as a filter (JSON in, JSON out; see its docstring). */
function python<T>(request: object): T {
  const out = execFileSync('python3', [REFERENCE], { input: JSON.stringify(request), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(out) as T;
}
const pyTables = (tables: readonly CdfTable[]): object[] => tables.map((t) => ({ offset: t.offset, cdf: Array.from(t.cdf) }));

interface Golden {
  latent: number[][];
  rates: { s1: { step: number; symbols: number[][]; payloads: string[] } };
}
const golden = JSON.parse(readFileSync(join(TINY, 'golden.json'), 'utf8')) as Golden;
const tinyTables = cdfTables(JSON.parse(readFileSync(join(TINY, 'entropy-s1.json'), 'utf8')) as EntropyTables, 'entropy-s1.json');

describe('rangeEncode / rangeDecode: hand-worked vectors', () => {
  it('codes symbols of probability 1/2 as one bit each, MSB first, trailing zero bytes dropped', () => {
    const half = [table(0, [0, 32768, TOTAL])];
    expect(hex(rangeEncode([1, 0, 1, 1, 0, 0, 0, 1], half, 8))).toBe('b1');
    expect(hex(rangeEncode([1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1], half, 17))).toBe('b10080');
    expect(hex(rangeEncode([1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], half, 18))).toBe('b1');
    expect(hex(rangeEncode([0, 0, 0, 0], half, 4))).toBe('');
    expect(decode(fromHex('b10080'), half, 17)).toEqual([1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    // Quarters: two bits per symbol, its index in the table.
    const quarters = [table(-1, [0, 16384, 32768, 49152, TOTAL])];
    expect(hex(rangeEncode([2, -1, 0, 1], quarters, 4))).toBe('c6'); // indices 3, 0, 1, 2: 11 00 01 10
    expect(decode(fromHex('c6'), quarters, 4)).toEqual([2, -1, 0, 1]);
  });

  it('holds pending bits while the interval straddles the middle, and ends with the shortest value inside it', () => {
    const mid = [table(0, [0, 16384, 49152, TOTAL])]; // 1/4, 1/2, 1/4
    // [1/4, 3/4): one pending bit; the end writes 0 then the pending 1: 0.01 = 1/4.
    expect(hex(rangeEncode([1], mid, 1))).toBe('40');
    // [3/8, 5/8): 0.011 = 3/8.
    expect(hex(rangeEncode([1, 1], mid, 2))).toBe('60');
    // [5/8, 3/4): the top quarter resolves the pending bit: 1, 0, then 1 = 0.101.
    expect(hex(rangeEncode([1, 2], mid, 2))).toBe('a0');
    // [1/16, 3/16): the bottom quarter writes 00, the middle holds a bit; the end: 0, 1 = 0.0001.
    expect(hex(rangeEncode([0, 1], mid, 2))).toBe('10');
    for (const [h, s] of [
      ['40', [1]],
      ['60', [1, 1]],
      ['a0', [1, 2]],
      ['10', [0, 1]],
    ] as const)
      expect(decode(fromHex(h), mid, s.length)).toEqual(s);
  });

  it('writes nothing for certain symbols, and nothing for a run of the lowest symbol either', () => {
    expect(hex(rangeEncode([3, 3, 3, 3], [table(3, [0, TOTAL])], 4))).toBe('');
    expect(decode(new Uint8Array(0), [table(3, [0, TOTAL])], 4)).toEqual([3, 3, 3, 3]);
    // Symbol 0 at 1/65536 costs 16 zero bits each: all of them dropped as trailing zeros.
    const rare = [table(0, [0, 1, TOTAL])];
    expect(hex(rangeEncode([0, 0, 0, 0], rare, 4))).toBe('');
    expect(decode(new Uint8Array(0), rare, 4)).toEqual([0, 0, 0, 0]);
    // The likely symbol after them needs its bit: 16 zeros, then the end of the interval.
    expect(decode(rangeEncode([0, 1], rare, 2), rare, 2)).toEqual([0, 1]);
  });

  it('refuses symbols outside the support (the codec clamps before)', () => {
    expect(() => rangeEncode([0, 5], [table(0, [0, 100, TOTAL])], 2)).toThrow(new RangeError("symbol 5 at 1 is outside its table's support [0, 1]"));
    expect(() => rangeEncode([-1], [table(0, [0, 100, TOTAL])], 1)).toThrow(RangeError);
  });

  it('refuses a per-channel count that is not a positive integer (it steps channel by channel)', () => {
    const t = [table(0, [0, 100, TOTAL])];
    for (const n of [0, -1, 1.5, NaN]) {
      expect(() => rangeEncode([0, 1], t, n)).toThrow(new RangeError(`perChannel must be a positive integer, got ${n}`));
      expect(() => rangeDecode(new Uint8Array(1), t, n, new Int32Array(2))).toThrow(new RangeError(`perChannel must be a positive integer, got ${n}`));
    }
    expect(rangeEncode([], t, 0)).toEqual(new Uint8Array(0));
  });

  it('tableProblem names what is wrong with a table', () => {
    expect(CDF_PRECISION).toBe(16);
    expect(tableProblem(table(0, [0, 1, TOTAL]))).toBeUndefined();
    expect(tableProblem(table(0, [0]))).toBe('a table needs at least one symbol');
    expect(tableProblem(table(0, [1, TOTAL]))).toBe('cdf must start at 0, not 1');
    expect(tableProblem(table(0, [0, 65535]))).toBe('cdf must end at 65536, not 65535');
    expect(tableProblem(table(0, [0, 7, 7, TOTAL]))).toBe('cdf must increase strictly (entry 2)');
    expect(tableProblem(table(0.5, [0, TOTAL]))).toBe('offset 0.5 is not an integer');
  });
});

describe('the tiny bundle: golden payloads from the Python coder', () => {
  it('TS writes the golden bytes of rates.s1 and reads back rates.s1.symbols', () => {
    expect(golden.rates.s1.payloads.length).toBe(4);
    golden.rates.s1.symbols.forEach((symbols, i) => {
      expect(symbols.length).toBe(98);
      expect(hex(rangeEncode(symbols, tinyTables, 49))).toBe(golden.rates.s1.payloads[i]);
      expect(decode(fromHex(golden.rates.s1.payloads[i]!), tinyTables, 49)).toEqual(symbols);
    });
  });
});

describe('random tables: exact round trips', () => {
  it('decodes every payload back to its symbols (2,000 vectors over 400 random tables)', () => {
    const r = rng(1);
    for (let k = 0; k < 400; k++) {
      const tables = Array.from({ length: int(r, 1, 4) }, () => randomTable(r));
      for (let v = 0; v < 5; v++) {
        const per = int(r, 1, 60);
        const symbols = drawSymbols(r, tables, per, v % 2 ? anySymbol : undefined);
        const payload = rangeEncode(symbols, tables, per);
        expect(payload.length).toBeLessThanOrEqual(maxEncodedBytes(symbols.length));
        if (payload.length > 0) expect(payload.at(-1)).not.toBe(0);
        expect(decode(payload, tables, per)).toEqual(symbols);
      }
    }
  });

  it('a channel of one-symbol tables changes nothing: the bytes are those of the other channels alone', () => {
    const r = rng(2);
    for (let k = 0; k < 50; k++) {
      const t = randomTable(r);
      const per = int(r, 1, 50);
      const symbols = drawSymbols(r, [t], per);
      const certain = randomTable(r, 'certain');
      const alone = hex(rangeEncode(symbols, [t], per));
      expect(hex(rangeEncode([...new Array<number>(per).fill(certain.offset), ...symbols], [certain, t], per))).toBe(alone);
      expect(hex(rangeEncode([...symbols, ...new Array<number>(per).fill(certain.offset)], [t, certain], per))).toBe(alone);
    }
  });

  it('stays within maxEncodedBytes at the worst case: every symbol at 1/65536', () => {
    expect([0, 1, 98, 1000].map(maxEncodedBytes)).toEqual([8, 11, 217, 2133]);
    const worst = [table(0, [0, 65535, TOTAL])]; // symbol 1 costs 16 one bits
    for (const n of [1, 2, 7, 98, 1000]) {
      const payload = rangeEncode(new Array<number>(n).fill(1), worst, n);
      expect(payload.length).toBeGreaterThanOrEqual(2 * n);
      expect(payload.length).toBeLessThanOrEqual(maxEncodedBytes(n));
      expect(decode(payload, worst, n)).toEqual(new Array<number>(n).fill(1));
    }
  });

  it('decodes any byte string, up to the bound, to in-support symbols (property)', () => {
    const r = rng(3);
    const tableSets = Array.from({ length: 20 }, () => Array.from({ length: int(r, 1, 3) }, () => randomTable(r)));
    fc.assert(
      fc.property(fc.nat(19), fc.integer({ min: 1, max: 40 }), fc.uint8Array({ maxLength: 200 }), (k, per, bytes) => {
        const tables = tableSets[k]!;
        const out = decode(bytes.subarray(0, maxEncodedBytes(tables.length * per)), tables, per);
        out.forEach((s, i) => {
          const t = tables[Math.floor(i / per)]!;
          expect(s).toBeGreaterThanOrEqual(t.offset);
          expect(s).toBeLessThanOrEqual(t.offset + t.cdf.length - 2);
        });
      }),
      { numRuns: 3000 },
    );
  });

  it('compresses to within 1% + 2 bytes of the ideal code length (200 payloads of 500 symbols)', () => {
    const r = rng(4);
    let total = 0;
    let ideal = 0;
    for (let k = 0; k < 200; k++) {
      const tables = Array.from({ length: 2 }, () => randomTable(r, (['random', 'laplace', 'flat'] as const)[k % 3]));
      const symbols = drawSymbols(r, tables, 250);
      const bytes = rangeEncode(symbols, tables, 250).length;
      const bound = idealBits(symbols, tables, 250) / 8;
      expect(bytes).toBeLessThanOrEqual(bound * 1.01 + 2);
      expect(bytes).toBeGreaterThanOrEqual(bound * 0.99 - 2);
      total += bytes;
      ideal += bound;
    }
    expect(total / ideal).toBeLessThan(1.005);
    expect(total / ideal).toBeGreaterThan(0.995);
  });
});

describe('cross-language: bottleneck/train/rangecoder.py and the TypeScript coder', () => {
  const kinds: TableKind[][] = [
    ['random'],
    ['laplace', 'laplace'],
    ['peaked', 'flat'],
    ['flat', 'certain', 'random'],
    ['peaked', 'peaked', 'laplace', 'random'],
    ['laplace', 'peaked'],
  ];

  it("write the same bytes, and each decodes the other's (300 random vectors over 6 random table sets)", () => {
    const r = rng(5);
    let vectors = 0;
    for (const set of kinds) {
      const tables = set.map((k) => randomTable(r, k));
      const per = int(r, 1, 40);
      const symbols = Array.from({ length: 50 }, (_, v) => drawSymbols(r, tables, per, v % 3 === 0 ? anySymbol : undefined));
      const ts = symbols.map((s) => hex(rangeEncode(s, tables, per)));
      const py = python<{ payloads: string[] }>({ op: 'encode', tables: pyTables(tables), symbols }).payloads;
      expect(py).toEqual(ts);
      // Python reads the TypeScript bytes; TypeScript reads the Python bytes.
      const back = python<{ symbols: number[][] }>({ op: 'decode', tables: pyTables(tables), payloads: ts, count: tables.length * per }).symbols;
      expect(back).toEqual(symbols);
      py.forEach((p, i) => expect(decode(fromHex(p), tables, per)).toEqual(symbols[i]));
      vectors += symbols.length;
    }
    expect(vectors).toBe(300);
  });

  it('read arbitrary bytes as the same symbols (the TypeScript shortcuts for one-symbol tables and the most probable symbol included)', () => {
    const r = rng(6);
    const tables = [randomTable(r, 'laplace'), randomTable(r, 'certain'), randomTable(r, 'peaked'), randomTable(r, 'random')];
    const per = 15;
    const payloads = Array.from({ length: 200 }, () => hex(Uint8Array.from({ length: int(r, 0, maxEncodedBytes(60)) }, () => int(r, 0, 255))));
    const py = python<{ symbols: number[][] }>({ op: 'decode', tables: pyTables(tables), payloads, count: 60 }).symbols;
    payloads.forEach((p, i) => expect(decode(fromHex(p), tables, per)).toEqual(py[i]));
    // The feature codec's form: symbol × step into float32, the same symbols.
    const step = 0.37;
    payloads.forEach((p, i) =>
      expect(Array.from(rangeDecode(fromHex(p), tables, per, new Float32Array(60), step))).toEqual(py[i]!.map((s) => Math.fround(s * step))),
    );
  });

  it("agree on the tiny bundle's tables and the golden symbols", () => {
    const py = python<{ payloads: string[] }>({ op: 'encode', tables: pyTables(tinyTables), symbols: golden.rates.s1.symbols }).payloads;
    expect(py).toEqual(golden.rates.s1.payloads);
  });
});
