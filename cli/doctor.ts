/**
 * `offramp doctor`: which backends and codecs this installation uses, and why an optional one is
 * missing (onnxruntime-node and onnxruntime-web are optional peers; zstd-napi is an optional
 * native build, with wasm zstd as the fallback).
 */
import type { Command } from 'commander';
import { installedVersion } from '../scenario/package.js';
import { loadZstdWasm } from '../bottleneck/zstd.js';
import { loadZstdNative, nativeLoadError } from '../bottleneck/zstd-native.js';

interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

/** Every check, in the order printed. */
export async function doctorChecks(): Promise<Check[]> {
  const checks: Check[] = [];
  checks.push({ what: 'Node.js', ok: Number(process.versions.node.split('.')[0]) >= 20, detail: process.version });
  for (const [pkg, role] of [
    ['onnxruntime-node', 'the edge server and Node.js devices'],
    ['onnxruntime-web', 'browser devices (and the wasm backend in Node.js)'],
    ['vega', 'benchmark plots'],
    ['vega-lite', 'benchmark plots'],
  ] as const) {
    const v = installedVersion(pkg);
    checks.push({ what: pkg, ok: v !== undefined, detail: v ? `${v}, for ${role}` : `not installed: needed for ${role} (npm install ${pkg})` });
  }
  const native = await loadZstdNative();
  checks.push({
    what: 'zstd (native, zstd-napi)',
    ok: native !== null,
    detail: native
      ? 'built and loaded: used for zstd'
      : `not loaded (${nativeLoadError ?? 'not installed'}); the wasm build is used. With npm ≥ 11 the project's allowScripts lets zstd-napi build with node-gyp`,
  });
  const wasm = await loadZstdWasm().then(
    () => true,
    (e: Error) => e.message,
  );
  checks.push({ what: 'zstd (wasm, zstd-codec)', ok: wasm === true, detail: wasm === true ? 'loaded' : String(wasm) });
  return checks;
}

export function addDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('which inference backends and codecs this installation uses, and what is missing')
    .action(async () => {
      const checks = await doctorChecks();
      for (const c of checks) console.log(`${c.ok ? 'ok  ' : 'miss'}  ${c.what.padEnd(26)} ${c.detail}`);
      // onnxruntime-web and vega are optional: only the edge's backend decides the exit code.
      process.exitCode = checks.find((c) => c.what === 'onnxruntime-node')!.ok ? 0 : 1;
    });
}
