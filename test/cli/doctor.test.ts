/** `offramp doctor` (cli/doctor.ts): the checks, in order, with the versions installed here. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { doctorChecks } from '../../cli/doctor.js';

const ROOT = join(import.meta.dirname, '..', '..');
/** The version of a package installed in this checkout. */
const installed = (pkg: string): string => (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

describe('doctorChecks', () => {
  it('lists Node.js, the backends, the plot packages and both zstd builds, in that order', async () => {
    expect((await doctorChecks()).map((c) => c.what)).toEqual([
      'Node.js',
      'onnxruntime-node',
      'onnxruntime-web',
      'vega',
      'vega-lite',
      'zstd (native, zstd-napi)',
      'zstd (wasm, zstd-codec)',
    ]);
  });

  it('finds Node.js ≥ 20 and onnxruntime-node here, with their versions', async () => {
    const checks = await doctorChecks();
    expect(checks.find((c) => c.what === 'Node.js')).toEqual({ what: 'Node.js', ok: true, detail: process.version });
    expect(checks.find((c) => c.what === 'onnxruntime-node')).toEqual({
      what: 'onnxruntime-node',
      ok: true,
      detail: `${installed('onnxruntime-node')}, for the edge server and Node.js devices`,
    });
  });

  it('finds the optional peers installed as dev dependencies, and the wasm zstd', async () => {
    const checks = await doctorChecks();
    expect(checks.find((c) => c.what === 'onnxruntime-web')).toEqual({
      what: 'onnxruntime-web',
      ok: true,
      detail: `${installed('onnxruntime-web')}, for browser devices (and the wasm backend in Node.js)`,
    });
    for (const pkg of ['vega', 'vega-lite'])
      expect(checks.find((c) => c.what === pkg)).toEqual({ what: pkg, ok: true, detail: `${installed(pkg)}, for benchmark plots` });
    expect(checks.find((c) => c.what === 'zstd (wasm, zstd-codec)')).toEqual({ what: 'zstd (wasm, zstd-codec)', ok: true, detail: 'loaded' });
  });

  it('says whether native zstd loaded, and what is used instead when it did not', async () => {
    const native = (await doctorChecks()).find((c) => c.what === 'zstd (native, zstd-napi)')!;
    // zstd-napi is an optional native build: either outcome is legitimate on a given machine.
    if (native.ok) expect(native.detail).toBe('built and loaded: used for zstd');
    else
      expect(native.detail).toMatch(
        /^not loaded \(.+\); the wasm build is used\. With npm ≥ 11 the project's allowScripts lets zstd-napi build with node-gyp$/,
      );
  });
});
