/**
 * Command options, each defined once: its flag, its config-file key, its environment variable,
 * its default, its check and its help text. `addOptions` puts them on a commander command;
 * `resolveOptions` merges flags over a config file over defaults and checks every value, so a
 * bad number fails with a message naming the flag (`--concurrency must be a positive integer,
 * got 'abc'`), never a TypeError later.
 */
import { Option, type Command } from 'commander';

/** How a value is read from text and checked. */
export type Kind =
  | { type: 'int'; min?: number; max?: number }
  | { type: 'number'; min?: number; exclusiveMin?: boolean }
  | { type: 'string' }
  | { type: 'bool' }
  | { type: 'list' }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'int-or'; word: string; min?: number };

/** One option. */
export interface OptionSpec {
  /** The key in the resolved options (and in a config file). */
  key: string;
  /** e.g. '--max-batch <n>' or '--web' */
  flag: string;
  help: string;
  kind: Kind;
  default?: unknown;
  /** OFFRAMP_<env> sets it too (serve). */
  env?: string;
}

/** The flag's name without dashes or argument, for messages. */
export function flagName(spec: OptionSpec): string {
  return spec.flag.split(/[ ,]/)[0]!;
}

/** Reads and checks one value; throws RangeError naming the flag. */
export function parseValue(spec: OptionSpec, raw: unknown): unknown {
  const k = spec.kind;
  const name = flagName(spec);
  const fail = (what: string): never => {
    throw new RangeError(`${name} must be ${what}, got ${JSON.stringify(raw)}`);
  };
  if (k.type === 'bool') {
    if (typeof raw === 'boolean') return raw;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    return fail('true or false');
  }
  if (k.type === 'string') return typeof raw === 'string' && raw.length > 0 ? raw : fail('a non-empty string');
  if (k.type === 'list') {
    if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) return raw;
    if (typeof raw === 'string')
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    return fail('a comma-separated list');
  }
  if (k.type === 'enum') return typeof raw === 'string' && k.values.includes(raw) ? raw : fail(`one of ${k.values.join(', ')}`);
  if (k.type === 'int-or' && raw === k.word) return raw;
  // Numbers as people write them: decimal digits, a sign, a fraction, an exponent for reals; no hex.
  const text = typeof raw === 'string' ? raw.trim() : '';
  const decimal = k.type === 'number' ? /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/ : /^[-+]?\d+$/;
  const n = typeof raw === 'number' ? raw : decimal.test(text) ? Number(text) : NaN;
  if (k.type === 'number') {
    const min = k.min ?? -Infinity;
    const ok = Number.isFinite(n) && (k.exclusiveMin ? n > min : n >= min);
    return ok ? n : fail(k.min === undefined ? 'a number' : `a number ${k.exclusiveMin ? '>' : '≥'} ${k.min}`);
  }
  const min = k.min ?? 0;
  const max = k.type === 'int' ? (k.max ?? Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER;
  const what = `${min === 1 ? 'a positive integer' : `an integer ≥ ${min}`}${max < Number.MAX_SAFE_INTEGER ? ` and ≤ ${max}` : ''}${k.type === 'int-or' ? ` or '${k.word}'` : ''}`;
  return Number.isInteger(n) && n >= min && n <= max ? n : fail(what);
}

/** Adds every spec to `cmd` as a commander option (values are checked later, by resolveOptions). */
export function addOptions(cmd: Command, specs: readonly OptionSpec[]): Command {
  for (const s of specs) {
    const shown =
      s.default === undefined ? '' : ` (default: ${Array.isArray(s.default) ? s.default.join(',') : JSON.stringify(s.default).replace(/^"(.*)"$/, '$1')})`;
    const o = new Option(s.flag, `${s.help}${shown}`);
    if (s.env) o.env(`OFFRAMP_${s.env}`);
    cmd.addOption(o);
  }
  return cmd;
}

/** Camel-case key commander gives a flag ('--max-batch <n>' → 'maxBatch', '--no-progress' → 'progress'). */
function commanderKey(spec: OptionSpec): string {
  const name = flagName(spec).replace(/^--(no-)?/, '');
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Resolves options: a flag (or its environment variable) wins over the config file, which wins
 * over the default. Unknown config keys are an error. Throws RangeError naming the first problem.
 */
export function resolveOptions(
  specs: readonly OptionSpec[],
  flags: Record<string, unknown>,
  config: Record<string, unknown> = {},
  where = 'the config file',
): Record<string, unknown> {
  const known = new Set(specs.map((s) => s.key));
  const unknown = Object.keys(config).filter((k) => !known.has(k));
  if (unknown.length) throw new RangeError(`${where}: unknown option(s) ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
  const out: Record<string, unknown> = {};
  for (const s of specs) {
    const flag = flags[commanderKey(s)];
    const raw = flag !== undefined ? flag : config[s.key] !== undefined ? config[s.key] : s.default;
    if (raw !== undefined) out[s.key] = parseValue(s, raw);
  }
  return out;
}
