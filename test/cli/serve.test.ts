/**
 * `offramp serve`'s options as the edge gets them (cli/serve.ts edgeOptions): defaults from
 * tail/options.ts, auth from either secret, TLS from a key and a certificate file, --lan listening
 * on every interface; CLI-only settings (log level, web, lan) stay out.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveOptions } from '../../cli/options.js';
import { edgeOptions, SERVE_OPTIONS } from '../../cli/serve.js';
import { DEFAULTS } from '../../tail/options.js';

let tmp: string;
let key: string;
let cert: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'offramp-serve-'));
  key = join(tmp, 'key.pem');
  cert = join(tmp, 'cert.pem');
  await writeFile(key, 'KEY PEM');
  await writeFile(cert, 'CERT PEM');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** edgeOptions of the serve command given these flags (and config file values). */
const edge = (flags: Record<string, unknown>, config: Record<string, unknown> = {}): ReturnType<typeof edgeOptions> =>
  edgeOptions(resolveOptions(SERVE_OPTIONS, flags, config));

describe('edgeOptions', () => {
  it("with no flags: the models folder and tail/options.ts's defaults; no auth, no TLS, no CLI-only keys", () => {
    const o = edge({}) as unknown as Record<string, unknown>;
    expect(o.models).toBe('models');
    for (const s of SERVE_OPTIONS) if (s.key in DEFAULTS) expect(o[s.key]).toBe(DEFAULTS[s.key as keyof typeof DEFAULTS]);
    expect(o.host).toBe('127.0.0.1');
    for (const k of ['auth', 'tls', 'logLevel', 'web', 'lan', 'authSecret', 'authHmacSecret', 'tlsKey', 'tlsCert', 'origins']) expect(o).not.toHaveProperty(k);
  });

  it('passes numbers, lists and folders through as resolved', () => {
    expect(edge({ models: 'm', port: '0', workers: '3', maxBatch: '8', origins: 'https://a.example, https://b.example' })).toMatchObject({
      models: 'm',
      port: 0,
      workers: 3,
      maxBatch: 8,
      origins: ['https://a.example', 'https://b.example'],
    });
  });

  it('--auth-secret: a shared secret', () => {
    expect(edge({ authSecret: 's3cret' }).auth).toEqual({ type: 'shared-secret', secret: 's3cret' });
  });

  it('--auth-hmac-secret: HMAC-signed tokens, and it wins when both are given', () => {
    expect(edge({ authHmacSecret: 'k' }).auth).toEqual({ type: 'hmac', secret: 'k' });
    expect(edge({ authSecret: 's3cret', authHmacSecret: 'k' }).auth).toEqual({ type: 'hmac', secret: 'k' });
    // From the config file too.
    expect(edge({}, { authHmacSecret: 'from-file' }).auth).toEqual({ type: 'hmac', secret: 'from-file' });
  });

  it("--tls-key and --tls-cert: the files' bytes", () => {
    const o = edge({ tlsKey: key, tlsCert: cert });
    expect(o.tls).toEqual({ key: Buffer.from('KEY PEM'), cert: Buffer.from('CERT PEM') });
  });

  it('a missing key or certificate file fails, naming it', () => {
    const missing = join(tmp, 'nope.pem');
    expect(() => edge({ tlsKey: missing, tlsCert: cert })).toThrow(`ENOENT: no such file or directory, open '${missing}'`);
  });

  it('--lan: every interface (host 0.0.0.0), over --host; without it the host stays', () => {
    expect(edge({ lan: true }).host).toBe('0.0.0.0');
    expect(edge({ lan: true, host: '127.0.0.1' }).host).toBe('0.0.0.0');
    expect(edge({}, { lan: true }).host).toBe('0.0.0.0');
    expect(edge({ lan: false, host: '10.0.0.7' }).host).toBe('10.0.0.7');
    expect(edge({ host: '::1' }).host).toBe('::1');
  });
});
