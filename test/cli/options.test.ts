/**
 * Command options defined once (cli/options.ts): parseValue's checks and messages, resolveOptions'
 * precedence (flag or environment > config file > default), addOptions on a real commander
 * command, and the option tables of bench, demo, eval and serve.
 */
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { BENCH_OPTIONS } from '../../cli/bench.js';
import { DEMO_OPTIONS } from '../../cli/demo.js';
import { EVAL_OPTIONS } from '../../cli/eval.js';
import { addOptions, flagName, parseValue, resolveOptions, type Kind, type OptionSpec } from '../../cli/options.js';
import { SERVE_OPTIONS } from '../../cli/serve.js';

const spec = (flag: string, kind: Kind, extra: Partial<OptionSpec> = {}): OptionSpec => ({ key: 'k', flag, kind, help: 'h', ...extra });
/** parseValue's RangeError message, or 'ok'. */
function message(s: OptionSpec, raw: unknown): string {
  try {
    parseValue(s, raw);
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(RangeError);
    return (e as Error).message;
  }
}

describe('flagName', () => {
  it('is the flag without its argument', () => {
    expect(flagName(spec('--max-batch <n>', { type: 'int' }))).toBe('--max-batch');
    expect(flagName(spec('--no-progress', { type: 'bool' }))).toBe('--no-progress');
    expect(flagName(spec('--web', { type: 'bool' }))).toBe('--web');
  });
});

describe('parseValue', () => {
  it('int: numbers and numeric strings; the message says the range', () => {
    const positive = spec('--workers <n>', { type: 'int', min: 1 });
    expect(parseValue(positive, '3')).toBe(3);
    expect(parseValue(positive, 7)).toBe(7);
    expect(parseValue(positive, ' 12 ')).toBe(12);
    for (const bad of ['0', '2.5', 'abc', '', ' ', '-1', 'Infinity'])
      expect(message(positive, bad)).toBe(`--workers must be a positive integer, got ${JSON.stringify(bad)}`);
    expect(message(positive, Number.NaN)).toBe('--workers must be a positive integer, got null');
    expect(message(positive, true)).toBe('--workers must be a positive integer, got true');
    const zero = spec('--warmup <n>', { type: 'int', min: 0 });
    expect(parseValue(zero, '0')).toBe(0);
    expect(message(zero, '-1')).toBe('--warmup must be an integer ≥ 0, got "-1"');
    expect(message(spec('--warmup <n>', { type: 'int' }), '-1')).toBe('--warmup must be an integer ≥ 0, got "-1"');
    const port = spec('--port <n>', { type: 'int', min: 0, max: 65535 });
    expect(parseValue(port, '65535')).toBe(65535);
    expect(message(port, '65536')).toBe('--port must be an integer ≥ 0 and ≤ 65535, got "65536"');
    expect(message(spec('--frame <n>', { type: 'int', min: 1024 }), 100)).toBe('--frame must be an integer ≥ 1024, got 100');
  });

  it('number: finite, with an inclusive or exclusive minimum', () => {
    expect(parseValue(spec('--t <x>', { type: 'number', min: 0 }), '0')).toBe(0);
    expect(parseValue(spec('--t <x>', { type: 'number', min: 0 }), '1e-3')).toBe(0.001);
    expect(message(spec('--t <x>', { type: 'number', min: 0 }), '-0.5')).toBe('--t must be a number ≥ 0, got "-0.5"');
    expect(message(spec('--s <x>', { type: 'number', min: 0, exclusiveMin: true }), '0')).toBe('--s must be a number > 0, got "0"');
    expect(parseValue(spec('--x <x>', { type: 'number' }), '-7.25')).toBe(-7.25);
    expect(message(spec('--x <x>', { type: 'number' }), 'Infinity')).toBe('--x must be a number, got "Infinity"');
    expect(message(spec('--x <x>', { type: 'number' }), '')).toBe('--x must be a number, got ""');
  });

  it('int-or: the word, or an integer in range', () => {
    const parallel = spec('--parallel <n>', { type: 'int-or', word: 'auto', min: 1 });
    expect(parseValue(parallel, 'auto')).toBe('auto');
    expect(parseValue(parallel, '4')).toBe(4);
    for (const bad of ['lots', '0', '2.5', 'AUTO'])
      expect(message(parallel, bad)).toBe(`--parallel must be a positive integer or 'auto', got ${JSON.stringify(bad)}`);
  });

  it('bool: booleans, true/false, 1/0', () => {
    const web = spec('--web', { type: 'bool' });
    expect([true, 'true', '1'].map((v) => parseValue(web, v))).toEqual([true, true, true]);
    expect([false, 'false', '0'].map((v) => parseValue(web, v))).toEqual([false, false, false]);
    expect(message(web, 'yes')).toBe('--web must be true or false, got "yes"');
    expect(message(web, 1)).toBe('--web must be true or false, got 1');
  });

  it('string: non-empty', () => {
    const s = spec('--bundle <dir>', { type: 'string' });
    expect(parseValue(s, 'models/x')).toBe('models/x');
    expect(message(s, '')).toBe('--bundle must be a non-empty string, got ""');
    expect(message(s, 5)).toBe('--bundle must be a non-empty string, got 5');
  });

  it('list: comma-separated (trimmed, empty items dropped) or an array of strings', () => {
    const l = spec('--links <names>', { type: 'list' });
    expect(parseValue(l, 'lte, wifi,,5g ')).toEqual(['lte', 'wifi', '5g']);
    expect(parseValue(l, ['a', 'b'])).toEqual(['a', 'b']);
    expect(message(l, [1, 2])).toBe('--links must be a comma-separated list, got [1,2]');
    expect(message(l, 3)).toBe('--links must be a comma-separated list, got 3');
  });

  it('enum: one of the values', () => {
    const e = spec('--objective <o>', { type: 'enum', values: ['latency', 'energy', 'accuracy'] });
    expect(parseValue(e, 'energy')).toBe('energy');
    expect(message(e, 'speed')).toBe('--objective must be one of latency, energy, accuracy, got "speed"');
    expect(message(e, 'Energy')).toBe('--objective must be one of latency, energy, accuracy, got "Energy"');
  });
});

describe('resolveOptions', () => {
  const SPECS: OptionSpec[] = [
    { key: 'maxBatch', flag: '--max-batch <n>', kind: { type: 'int', min: 1 }, default: 32, help: '' },
    { key: 'host', flag: '--host <addr>', kind: { type: 'string' }, default: '127.0.0.1', help: '' },
    { key: 'progress', flag: '--no-progress', kind: { type: 'bool' }, default: true, help: '' },
    { key: 'token', flag: '--token <s>', kind: { type: 'string' }, help: '' },
  ];

  it('defaults when nothing is given; options without a default are left out', () => {
    expect(resolveOptions(SPECS, {})).toEqual({ maxBatch: 32, host: '127.0.0.1', progress: true });
  });

  it('a flag (commander camel case) wins over the config file, which wins over the default', () => {
    expect(resolveOptions(SPECS, {}, { maxBatch: 8, host: '0.0.0.0' })).toEqual({ maxBatch: 8, host: '0.0.0.0', progress: true });
    expect(resolveOptions(SPECS, { maxBatch: '4' }, { maxBatch: 8, host: '0.0.0.0' })).toEqual({ maxBatch: 4, host: '0.0.0.0', progress: true });
    // --no-progress arrives from commander as progress: false.
    expect(resolveOptions(SPECS, { progress: false, token: 't' }, { progress: true })).toEqual({
      maxBatch: 32,
      host: '127.0.0.1',
      progress: false,
      token: 't',
    });
    // A flag left undefined does not hide the config value.
    expect(resolveOptions(SPECS, { maxBatch: undefined }, { maxBatch: 2 })).toMatchObject({ maxBatch: 2 });
  });

  it('checks values from every source, naming the flag', () => {
    expect(() => resolveOptions(SPECS, { maxBatch: '0' })).toThrow(new RangeError('--max-batch must be a positive integer, got "0"'));
    expect(() => resolveOptions(SPECS, {}, { maxBatch: 'many' })).toThrow(new RangeError('--max-batch must be a positive integer, got "many"'));
    expect(() => resolveOptions([{ ...SPECS[0]!, default: 0 }], {})).toThrow(new RangeError('--max-batch must be a positive integer, got 0'));
  });

  it('refuses unknown config keys, naming where they came from and the known ones', () => {
    expect(() => resolveOptions(SPECS, {}, { maxbatch: 3, colour: 'red' })).toThrow(
      new RangeError('the config file: unknown option(s) maxbatch, colour (known: maxBatch, host, progress, token)'),
    );
    expect(() => resolveOptions(SPECS, {}, { port: 1 }, 'serve.json')).toThrow(
      new RangeError('serve.json: unknown option(s) port (known: maxBatch, host, progress, token)'),
    );
    // Keys are the spec keys, not flag spellings.
    expect(() => resolveOptions(SPECS, {}, { 'max-batch': 3 })).toThrow(/unknown option\(s\) max-batch/);
  });
});

describe('addOptions on a commander command', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  });

  /** Parses `args` with `specs` and resolves them, as a subcommand's action does. */
  function parse(specs: readonly OptionSpec[], args: string[], config: Record<string, unknown> = {}): Record<string, unknown> {
    let flags: Record<string, unknown> = {};
    const cmd = addOptions(new Command('x').exitOverride(), specs).action((f: Record<string, unknown>) => {
      flags = f;
    });
    cmd.parse(args, { from: 'user' });
    return resolveOptions(specs, flags, config);
  }

  it('adds every option, the default in its help, and sets no values of its own', () => {
    const cmd = addOptions(new Command('bench'), BENCH_OPTIONS);
    expect(cmd.options.map((o) => o.flags)).toEqual(BENCH_OPTIONS.map((s) => s.flag));
    expect(cmd.options.find((o) => o.long === '--links')!.description).toMatch(/ \(default: 3g,lte,wifi,5g\)$/);
    expect(cmd.options.find((o) => o.long === '--samples')!.description).toMatch(/ \(default: 200\)$/);
    expect(cmd.options.find((o) => o.long === '--json')!.description).not.toContain('default');
  });

  it('bench: flags reach resolveOptions as values; the rest are defaults', () => {
    expect(parse(BENCH_OPTIONS, ['--parallel', 'auto', '--links', 'lte,slow:1:2:30', '--no-progress', '--samples', '20'])).toEqual({
      links: ['lte', 'slow:1:2:30'],
      device: ['host', 'rpi4'],
      samples: 20,
      parallel: 'auto',
      warmup: 10,
      deadlineMs: 10000,
      periodMs: 0,
      progress: false,
    });
    expect(() => parse(BENCH_OPTIONS, ['--parallel', 'lots'])).toThrow(new RangeError(`--parallel must be a positive integer or 'auto', got "lots"`));
  });

  it('serve: OFFRAMP_* variables set options; a flag beats its variable; both beat the config file', () => {
    process.env.OFFRAMP_MAX_BATCH = '9';
    process.env.OFFRAMP_PORT = '1234';
    process.env.OFFRAMP_LAN = 'true';
    const o = parse(SERVE_OPTIONS, ['--port', '0'], { maxBatch: 5, workers: 3 });
    expect(o).toMatchObject({ maxBatch: 9, port: 0, workers: 3, lan: true });
    process.env.OFFRAMP_WORKERS = 'two';
    expect(() => parse(SERVE_OPTIONS, [])).toThrow(new RangeError('--workers must be a positive integer, got "two"'));
  });
});

describe('the option tables of bench, demo, eval and serve', () => {
  const camel = (s: OptionSpec): string =>
    flagName(s)
      .replace(/^--(no-)?/, '')
      .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  const tables = { bench: BENCH_OPTIONS, demo: DEMO_OPTIONS, eval: EVAL_OPTIONS, serve: SERVE_OPTIONS };

  it.each(Object.entries(tables))('%s: unique keys and flags, the config key is the flag in camel case, every default passes its own check', (_name, specs) => {
    expect(new Set(specs.map((s) => s.key)).size).toBe(specs.length);
    expect(new Set(specs.map((s) => flagName(s))).size).toBe(specs.length);
    for (const s of specs) {
      expect(camel(s)).toBe(s.key);
      expect(s.help.length).toBeGreaterThan(0);
      if (s.default !== undefined) expect(parseValue(s, s.default)).toEqual(s.default);
    }
    expect(() => resolveOptions(specs, {})).not.toThrow();
  });

  it('serve: every option has its OFFRAMP_ variable, the key in upper snake case', () => {
    for (const s of SERVE_OPTIONS) expect(s.env).toBe(s.key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase());
  });
});
