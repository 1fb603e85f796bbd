/**
 * docs/API.md documents every export of every entry point, and no export that does not exist;
 * docs/errors.md lists every error code with its wire value.
 *
 * The conventions these tests read (docs/API.md, "How to read this page"):
 * - an export is one row of a table whose header's first cell is `export`: the first cell is the
 *   name in backticks, the second the entry points (in backticks) that export it;
 * - a table whose header's first cell is `field` lists the properties of the type named (first
 *   backticked name) in the nearest heading above it; `a.b` rows document `a`.
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkPolicy } from '../../head/device.js';
import { DEFAULT_FRAME_LIMITS } from '../../protocol/limits.js';
import { ERROR_CODES, errorCodeToWire, isWireErrorCode } from '../../protocol/errors.js';
import { pb } from '../../protocol/messages.js';
import { DEFAULTS as EDGE_DEFAULTS } from '../../tail/options.js';

/** Entry points, their source files, and how to import them here. */
const ENTRIES = {
  offramp: { file: 'index.ts', load: () => import('../../index.js') },
  'offramp/node': { file: 'node.ts', load: () => import('../../node.js') },
  'offramp/web': { file: 'web.ts', load: () => import('../../web.js') },
  'offramp/head': { file: 'head/index.ts', load: () => import('../../head/index.js') },
  'offramp/tail': { file: 'tail/index.ts', load: () => import('../../tail/index.js') },
  'offramp/protocol': { file: 'protocol/index.ts', load: () => import('../../protocol/index.js') },
  'offramp/bottleneck': { file: 'bottleneck/index.ts', load: () => import('../../bottleneck/index.js') },
} as const;
type Entry = keyof typeof ENTRIES;
const ENTRY_NAMES = Object.keys(ENTRIES) as Entry[];

/** What API.md says each entry point re-exports whole. */
const INCLUDES: Record<Entry, Entry[]> = {
  offramp: ['offramp/head', 'offramp/protocol', 'offramp/bottleneck'],
  'offramp/node': ['offramp'],
  'offramp/web': ['offramp'],
  'offramp/head': [],
  'offramp/tail': [],
  'offramp/protocol': [],
  'offramp/bottleneck': [],
};

/** `e` and every entry point it re-exports, transitively. */
function covered(e: Entry): Set<Entry> {
  const out = new Set<Entry>([e]);
  for (const i of INCLUDES[e]) for (const c of covered(i)) out.add(c);
  return out;
}

const api = readFileSync('docs/API.md', 'utf8');
const errorsDoc = readFileSync('docs/errors.md', 'utf8');

interface Table {
  /** The nearest heading above the table, without its #s. */
  heading: string;
  header: string[];
  rows: { cells: string[]; line: number }[];
}

/** The cells of a Markdown table row (pipes escaped as `\|` stay inside their cell). */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** Every table of a Markdown text (outside fenced code), with its heading. */
function tables(md: string): Table[] {
  const out: Table[] = [];
  let heading = '';
  let fenced = false;
  let current: Table | undefined;
  md.split('\n').forEach((line, i) => {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) return;
    if (!line.startsWith('|')) {
      current = undefined;
      if (line.startsWith('#')) heading = line.replace(/^#+\s*/, '');
      return;
    }
    if (!current) {
      current = { heading, header: cells(line), rows: [] };
      out.push(current);
    } else if (!/^\|[\s|:-]+\|$/.test(line.trim())) {
      current.rows.push({ cells: cells(line), line: i + 1 });
    }
  });
  return out;
}

/** The backticked name a cell starts with (`name`), or undefined. */
function leadingName(cell: string): string | undefined {
  return /^`([A-Za-z_$][\w$.]*)`/.exec(cell)?.[1];
}

/** Every export of every entry point, by name, from the TypeScript compiler (types included). */
function compilerExports(): { exports: Map<Entry, Map<string, ts.Symbol>>; checker: ts.TypeChecker } {
  const config = ts.readConfigFile('tsconfig.json', (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, '.');
  const files = ENTRY_NAMES.map((e) => ts.sys.resolvePath(ENTRIES[e].file));
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true });
  const checker = program.getTypeChecker();
  const exports = new Map<Entry, Map<string, ts.Symbol>>();
  ENTRY_NAMES.forEach((e, i) => {
    const module = checker.getSymbolAtLocation(program.getSourceFile(files[i]!)!)!;
    const byName = new Map<string, ts.Symbol>();
    for (const s of checker.getExportsOfModule(module)) byName.set(s.name, s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
    exports.set(e, byName);
  });
  return { exports, checker };
}

/** The rows of API.md's export tables: name, entry points, line. */
function documentedExports(): { name: string; from: string[]; line: number }[] {
  return tables(api)
    .filter((t) => t.header[0] === 'export')
    .flatMap((t) =>
      t.rows.map((r) => ({
        name: leadingName(r.cells[0] ?? '') ?? `(unreadable: ${r.cells[0]})`,
        from: [...(r.cells[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!),
        line: r.line,
      })),
    );
}

describe('docs/API.md', () => {
  let exports: Map<Entry, Map<string, ts.Symbol>>;
  let checker: ts.TypeChecker;
  const rows = documentedExports();
  const byName = new Map(rows.map((r) => [r.name, r]));

  beforeAll(() => {
    ({ exports, checker } = compilerExports());
  }, 60_000);

  it('documents each export once, from entry points that exist', () => {
    expect(rows.length).toBeGreaterThan(100);
    const seen = new Map<string, number>();
    for (const r of rows) {
      expect(seen.get(r.name), `${r.name} is documented at lines ${seen.get(r.name)} and ${r.line}`).toBeUndefined();
      seen.set(r.name, r.line);
      expect(r.from.length, `line ${r.line}: ${r.name} names no entry point`).toBeGreaterThan(0);
      for (const f of r.from) expect(ENTRY_NAMES, `line ${r.line}: ${f} is not an entry point`).toContain(f);
    }
  });

  it('mentions no export that does not exist: every row names an export of each entry point it lists', () => {
    const wrong = rows.flatMap((r) => r.from.filter((f) => !exports.get(f as Entry)?.has(r.name)).map((f) => `line ${r.line}: ${f} does not export ${r.name}`));
    expect(wrong).toEqual([]);
  });

  it('documents every export of every entry point (types included), under that entry or one it re-exports', () => {
    const missing: string[] = [];
    for (const e of ENTRY_NAMES) {
      const ok = covered(e);
      for (const name of exports.get(e)!.keys()) {
        const row = byName.get(name);
        if (!row) missing.push(`${e}: ${name} is not documented`);
        else if (!row.from.some((f) => ok.has(f as Entry))) missing.push(`${e}: ${name} is documented from ${row.from.join(', ')} only`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('is right that offramp re-exports head, protocol and bottleneck, and node and web re-export offramp', () => {
    const missing: string[] = [];
    for (const e of ENTRY_NAMES) {
      for (const inner of covered(e))
        for (const name of exports.get(inner)!.keys()) if (!exports.get(e)!.has(name)) missing.push(`${e} lacks ${name} of ${inner}`);
    }
    expect(missing).toEqual([]);
  });

  it('matches what each entry point exports at run time', async () => {
    for (const e of ENTRY_NAMES) {
      const names = Object.keys(await ENTRIES[e].load());
      const notCompiled = names.filter((n) => !exports.get(e)!.has(n));
      expect(notCompiled, `${e} exports at run time what tsc does not see`).toEqual([]);
      const undocumented = names.filter((n) => !byName.has(n));
      expect(undocumented, `${e}: undocumented run-time exports`).toEqual([]);
      for (const n of names) expect(api).toContain(`\`${n}\``);
    }
  });

  it('lists exactly the properties of each type its field tables describe', () => {
    const all = new Map<string, ts.Symbol>();
    for (const m of exports.values()) for (const [n, s] of m) all.set(n, s);
    const fieldTables = tables(api).filter((t) => t.header[0] === 'field');
    expect(fieldTables.length).toBeGreaterThan(10);
    for (const t of fieldTables) {
      const typeName = /`([A-Za-z_$][\w$]*)`/.exec(t.heading)?.[1];
      const symbol = typeName === undefined ? undefined : all.get(typeName);
      expect(symbol, `a field table under "${t.heading}" names no exported type`).toBeDefined();
      const props = checker
        .getDeclaredTypeOfSymbol(symbol!)
        .getProperties()
        .map((p) => p.name)
        .sort();
      const documented = [...new Set(t.rows.map((r) => (leadingName(r.cells[0] ?? '') ?? '').split('.')[0]!))].sort();
      expect(documented, `fields of ${typeName}`).toEqual(props);
    }
  });

  /** The row of `field` in the field table under the heading naming `type`. */
  function fieldRow(type: string, field: string): string[] {
    const t = tables(api).find((x) => x.header[0] === 'field' && x.heading.includes(`\`${type}\``));
    const row = t?.rows.find((r) => leadingName(r.cells[0] ?? '') === field);
    if (!t || !row) throw new Error(`no row ${field} under ${type}`);
    return row.cells;
  }

  const literal = (v: unknown): string => (typeof v === 'string' ? `\`'${v}'\`` : `\`${String(v)}\``);

  it('gives the edge defaults of tail/options.ts', () => {
    const column = tables(api)
      .find((x) => x.heading.includes('`EdgeServerOptions`'))!
      .header.indexOf('default');
    for (const [k, v] of Object.entries(EDGE_DEFAULTS)) expect(fieldRow('EdgeServerOptions', k)[column], k).toContain(literal(v));
  });

  it('gives the frame limits of protocol/limits.ts', () => {
    for (const [k, v] of Object.entries(DEFAULT_FRAME_LIMITS)) expect(fieldRow('FrameLimits', k)[2], k).toContain(literal(v));
  });

  it('gives the policy defaults createDevice applies', () => {
    const d = checkPolicy(undefined, 1);
    expect(fieldRow('PolicyOptions', 'objective')[2]).toContain(literal(d.objective));
    expect(fieldRow('PolicyOptions', 'maxAccuracyLoss')[2]).toContain(literal(d.maxAccuracyLoss));
  });

  it('names only error codes, exports and wire enum values in capitals', () => {
    const enumKeys = Object.values(pb).flatMap((v) => (typeof v === 'object' && v !== null ? Object.keys(v) : []));
    const known = new Set<string>([...ERROR_CODES, ...enumKeys, ...byName.keys()]);
    const unknown = [...api.matchAll(/`([A-Z][A-Z0-9_]{2,})`/g)].map((m) => m[1]!).filter((w) => !known.has(w));
    expect(unknown).toEqual([]);
  });
});

describe('docs/errors.md', () => {
  const rows = tables(errorsDoc)
    .filter((t) => t.header[0] === 'code')
    .flatMap((t) => t.rows.map((r) => ({ code: leadingName(r.cells[0] ?? '') ?? r.cells[0]!, wire: r.cells[1] ?? '' })));

  it('lists every code of protocol/errors.ts once, and no other', () => {
    expect(rows.map((r) => r.code).sort()).toEqual([...ERROR_CODES].sort());
  });

  it('gives each wire code its offramp.v2.ErrorCode value, and local codes none', () => {
    for (const r of rows) {
      const code = r.code as (typeof ERROR_CODES)[number];
      expect(r.wire, code).toBe(isWireErrorCode(code) ? String(errorCodeToWire(code)) : '—');
    }
    expect(errorsDoc).toContain('offramp.v2.ErrorCode');
    expect(errorsDoc).not.toContain('offramp.v1');
  });

  it('points MODEL_INVALID and CUT_INVALID at a section BYOM.md has', () => {
    const byom = readFileSync('docs/BYOM.md', 'utf8');
    expect(byom).toMatch(/^#+ Errors and what to do$/m);
    for (const code of ['MODEL_INVALID', 'CUT_INVALID']) {
      const line = errorsDoc.split('\n').find((l) => l.startsWith(`| \`${code}\``));
      expect(line, code).toContain('(BYOM.md#errors-and-what-to-do)');
    }
  });

  it('names only error codes and wire enum values in capitals', () => {
    const enumKeys = Object.values(pb).flatMap((v) => (typeof v === 'object' && v !== null ? Object.keys(v) : []));
    const known = new Set<string>([...ERROR_CODES, ...enumKeys, 'ERROR_CODES']);
    expect([...errorsDoc.matchAll(/`([A-Z][A-Z0-9_]{2,})`/g)].map((m) => m[1]!).filter((w) => !known.has(w))).toEqual([]);
  });
});
