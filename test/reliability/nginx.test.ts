/**
 * Scale-out for real: two `offramp serve` replicas (their own processes) behind Debian's nginx,
 * started here with the shipped config (deploy/nginx.conf, its ports swapped for free ones). One
 * replica is killed with SIGKILL while devices stream requests through nginx: every infer() must
 * end in one answer, devices on the dead replica answer by fallback meanwhile, and they reconnect
 * through nginx to the survivor.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServe, type ServeProcess } from '../../bench/reliability/spawn.js';
import { percentile } from '../../bench/stats.js';
import { imageAt, loadFashionMnistTest } from '../../head/datasets/fashion-mnist.js';
import { createDevice, type Device, type InferResult } from '../../head/index.js';
import { TINY } from '../tail/client.js';

const ROOT = join(import.meta.dirname, '..', '..');
const NGINX = '/usr/sbin/nginx';

/** A free port for nginx, which cannot listen on port 0 and report it (a small race, accepted). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

let dir: string;
let replicas: ServeProcess[];
let nginx: ChildProcess;
let nginxPort: number;

beforeAll(async () => {
  if (!existsSync(NGINX)) throw new Error(`${NGINX} not found: install Debian's nginx (apt-get install nginx); .ci/run does`);
  dir = await mkdtemp(join(tmpdir(), 'offramp-nginx-'));
  const models = join(dir, 'models');
  await mkdir(models);
  await cp(TINY, join(models, 'tiny'), { recursive: true });
  replicas = await Promise.all([0, 1].map(() => spawnServe(models, ['--workers', '1', '--heartbeat-ms', '1000'], { fromSource: true })));
  nginxPort = await freePort();
  const shipped = await readFile(join(ROOT, 'deploy', 'nginx.conf'), 'utf8');
  const conf = shipped
    .replace('server 127.0.0.1:8081', `server 127.0.0.1:${replicas[0]!.port}`)
    .replace('server 127.0.0.1:8082', `server 127.0.0.1:${replicas[1]!.port}`)
    .replace('listen 8080;', `listen 127.0.0.1:${nginxPort};`)
    .replace('http {', `http {\n  access_log off;\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;`);
  expect(conf).toContain(`127.0.0.1:${replicas[1]!.port}`);
  await writeFile(join(dir, 'nginx.conf'), conf);
  nginx = spawn(
    NGINX,
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', `daemon off; master_process off; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;`],
    { stdio: 'inherit' },
  );
}, 60_000);

afterAll(async () => {
  nginx?.kill('SIGTERM');
  await Promise.all((replicas ?? []).map((r) => r.stop()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('two replicas behind nginx, one killed mid-stream', () => {
  it('every infer() answers; devices on the dead replica fall back, then reconnect through nginx to the survivor', async () => {
    // nginx is up once it proxies a replica's readiness.
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${nginxPort}/readyz`).catch(() => undefined))?.status, { timeout: 10_000, interval: 50 })
      .toBe(200);
    const images = await loadFashionMnistTest();
    const devices: Device[] = await Promise.all(
      Array.from({ length: 8 }, () =>
        createDevice({
          bundle: TINY,
          edge: `ws://127.0.0.1:${nginxPort}`,
          policy: { force: 'always-offload' },
          deadlineMs: 2000,
        }),
      ),
    );
    for (const d of devices) expect(await d.whenConnected(5000)).toBe(true);
    let killedAt = Infinity;
    let stop = false;
    const results: { device: number; at: number; r: InferResult }[] = [];
    const edgeAfterKill = new Map<number, number>();
    let sawAllBack: () => void = () => {};
    const allBack = new Promise<void>((resolve) => {
      sawAllBack = resolve;
    });
    let warm: () => void = () => {};
    const warmedUp = new Promise<void>((resolve) => {
      warm = resolve;
    });
    const loops = devices.map(async (d, i) => {
      let k = 0;
      let edgeAnswers = 0;
      while (!stop) {
        const r = await d.infer(imageAt(images, (i * 997 + k++) % images.count));
        const at = performance.now();
        results.push({ device: i, at, r });
        if (r.path === 'edge' && ++edgeAnswers === 5 && results.filter((x) => x.r.path === 'edge').length >= 5 * devices.length) warm();
        if (r.path === 'edge' && at > killedAt && !edgeAfterKill.has(i)) {
          edgeAfterKill.set(i, at - killedAt);
          if (edgeAfterKill.size === devices.length) sawAllBack();
        }
        // Pace the stream (load generation, not synchronisation): ~50 requests/s per device.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
    await warmedUp;
    const victim = replicas[0]!;
    killedAt = performance.now();
    victim.child.kill('SIGKILL');
    expect(await victim.exited).toBe(null); // killed by the signal, as asked
    await allBack;
    stop = true;
    await Promise.all(loops);
    await Promise.all(devices.map((d) => d.close()));

    // Every request ended in one answer: by the edge, or by local fallback with its reason.
    expect(results.every((x) => x.r.path === 'edge' || x.r.path === 'fallback')).toBe(true);
    const fallbacks = results.filter((x) => x.r.path === 'fallback');
    expect(fallbacks.every((x) => x.r.reason === 'disconnected' || x.r.reason === 'timeout')).toBe(true);
    expect(fallbacks.every((x) => x.at > killedAt)).toBe(true);
    // Round robin put some devices on the victim: they fell back, then came back through nginx.
    const hit = new Set(fallbacks.map((x) => x.device));
    expect(hit.size).toBeGreaterThan(0);
    const reconnectMs = [...hit].map((i) => edgeAfterKill.get(i)!).sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        devices: devices.length,
        onVictim: hit.size,
        requests: results.length,
        fallbacks: fallbacks.length,
        reconnectMs: reconnectMs.map(Math.round),
      }),
    );
    expect(percentile(reconnectMs, 95)).toBeLessThan(2000);
    // The survivor served it all afterwards.
    expect((await fetch(`http://127.0.0.1:${nginxPort}/readyz`)).status).toBe(200);
  }, 60_000);
});
