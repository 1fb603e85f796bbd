/**
 * tail/static.ts, the page's file server: compressed copies written at build time or made once on
 * the fly, ETags per encoding with 304s, immutable caching for hashed build assets only, no
 * escapes. Served by a bare http server on port 0.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedEncodings, serveStatic } from '../../tail/static.js';

let root: string;
let mount: string;
let server: Server;
let port: number;
/** A compressible asset: 4 KiB of text. */
const app = Buffer.from('export const x = 1;\n'.repeat(205));
const appBr = brotliCompressSync(app);
const appGz = gzipSync(app);
const big = Buffer.from(JSON.stringify({ rows: Array.from({ length: 400 }, (_, i) => ({ i, name: `row ${i}` })) }));
const tag = (b: Buffer): string => createHash('sha256').update(b).digest('hex').slice(0, 32);

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}
function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'offramp-static-'));
  mount = await mkdtemp(join(tmpdir(), 'offramp-static-mount-'));
  await mkdir(join(root, 'assets'));
  await writeFile(join(root, 'index.html'), '<p>hi</p>');
  await writeFile(join(root, 'assets', 'app-AbC_12-x.js'), app);
  await writeFile(join(root, 'assets', 'app-AbC_12-x.js.br'), appBr);
  await writeFile(join(root, 'assets', 'app-AbC_12-x.js.gz'), appGz);
  await writeFile(join(root, 'data.json'), big);
  await writeFile(join(mount, 'lib-AbC_12-x.js'), app);
  server = createServer((req, res) => serveStatic(res, { root, mounts: { '/m/': mount } }, (req.url ?? '/').split('?')[0]!));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
  await rm(mount, { recursive: true, force: true });
});

describe('acceptedEncodings', () => {
  it('lists br before gzip, honours q=0 and *', () => {
    expect(acceptedEncodings('gzip, deflate, br, zstd')).toEqual(['br', 'gzip']);
    expect(acceptedEncodings('gzip;q=0.5, br;q=0')).toEqual(['gzip']);
    expect(acceptedEncodings('*')).toEqual(['br', 'gzip']);
    expect(acceptedEncodings('identity')).toEqual([]);
    expect(acceptedEncodings(undefined)).toEqual([]);
  });
});

describe('serveStatic', () => {
  it('sends the brotli copy written at build time, cached as immutable under a hashed name', async () => {
    const r = await get('/assets/app-AbC_12-x.js', { 'Accept-Encoding': 'gzip, deflate, br' });
    expect(r.status).toBe(200);
    expect(r.headers['content-encoding']).toBe('br');
    expect(r.headers['content-length']).toBe(String(appBr.length));
    expect(r.body.equals(appBr)).toBe(true);
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(r.headers.vary).toBe('Accept-Encoding');
    expect(r.headers.etag).toBe(`"${tag(app)}-br"`);
    expect(r.headers['content-type']).toBe('text/javascript; charset=utf-8');
  });

  it('sends the gzip copy to a browser without brotli, and the file itself to one without either', async () => {
    const gz = await get('/assets/app-AbC_12-x.js', { 'Accept-Encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).equals(app)).toBe(true);
    expect(gz.headers.etag).toBe(`"${tag(app)}-gzip"`);
    const plain = await get('/assets/app-AbC_12-x.js');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.equals(app)).toBe(true);
    expect(plain.headers.etag).toBe(`"${tag(app)}"`);
  });

  it("answers 304 with no body to a matching If-None-Match, and 200 to another encoding's ETag", async () => {
    const etag = `"${tag(app)}-br"`;
    const r = await get('/assets/app-AbC_12-x.js', { 'Accept-Encoding': 'br', 'If-None-Match': etag });
    expect(r.status).toBe(304);
    expect(r.body.length).toBe(0);
    expect(r.headers.etag).toBe(etag);
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await get('/assets/app-AbC_12-x.js', { 'Accept-Encoding': 'gzip', 'If-None-Match': etag })).status).toBe(200);
    expect((await get('/assets/app-AbC_12-x.js', { 'Accept-Encoding': 'br', 'If-None-Match': `W/"x", ${etag}` })).status).toBe(304);
  });

  it('compresses a file without a copy once, and revalidates files without a hashed name', async () => {
    const first = await get('/data.json', { 'Accept-Encoding': 'br' });
    expect(first.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(first.body).equals(big)).toBe(true);
    expect(first.body.length).toBeLessThan(big.length / 3);
    expect(first.headers['cache-control']).toBe('no-cache');
    const again = await get('/data.json', { 'Accept-Encoding': 'br', 'If-None-Match': String(first.headers.etag) });
    expect(again.status).toBe(304);
  });

  it('sends small files as they are, revalidated, with an ETag', async () => {
    const r = await get('/', { 'Accept-Encoding': 'br, gzip' });
    expect(r.body.toString()).toBe('<p>hi</p>');
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.headers.etag).toBe(`"${tag(Buffer.from('<p>hi</p>'))}"`);
    expect((await get('/', { 'If-None-Match': String(r.headers.etag) })).status).toBe(304);
  });

  it('never marks mounted files immutable, and answers HEAD with headers only', async () => {
    const r = await get('/m/lib-AbC_12-x.js', { 'Accept-Encoding': 'gzip' }, 'HEAD');
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(0);
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(Number(r.headers['content-length'])).toBeGreaterThan(0);
  });

  it('does not serve compressed copies by name, paths outside the root, or bad escapes', async () => {
    expect((await get('/assets/app-AbC_12-x.js.br')).status).toBe(404);
    expect((await get('/assets/nothing.js')).status).toBe(404);
    expect((await get('/../etc/passwd')).status).toBe(404);
    expect((await get('/%2e%2e/%2e%2e/etc/passwd')).status).toBe(404);
    expect((await get('/m/%2e%2e%2fsecret')).status).toBe(404);
    expect((await get('/%E0%A4%A')).status).toBe(400);
  });
});
