/** `offramp serve`: flags, OFFRAMP_* environment variables and an optional JSON config file map to the same options. */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { pino } from 'pino';
import { createEdgeServer } from '../tail/server.js';
import type { EdgeServerOptions } from '../tail/options.js';
import { startWebDemo, webOptions } from './web.js';

const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`expected a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
};

interface ServeFlags {
  config?: string;
  models?: string;
  port?: number;
  host?: string;
  workers?: number;
  intraOpThreads?: number;
  maxBatch?: number;
  maxQueueDelayUs?: number;
  maxQueue?: number;
  maxInFlight?: number;
  heartbeatMs?: number;
  drainTimeoutMs?: number;
  rateLimit?: number;
  rateBurst?: number;
  dedupWindowMs?: number;
  authSecret?: string;
  authHmacSecret?: string;
  origins?: string;
  tlsKey?: string;
  tlsCert?: string;
  logLevel: string;
  web?: boolean;
}

/**
 * The URL a spawned `offramp serve` prints as `{"listening": url}` once it serves; rejects if the
 * process exits first.
 */
export function waitForListening(child: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /\{"listening":"([^"]+)"\}/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`offramp serve exited (${code}) before listening: ${out}`)));
  });
}

/** Adds the `serve` subcommand to `program`. */
export function addServeCommand(program: Command): void {
  const o = (flags: string, description: string, env: string, parse?: (v: string) => number): Option => {
    const opt = new Option(flags, description).env(`OFFRAMP_${env}`);
    return parse ? opt.argParser(parse) : opt;
  };
  program
    .command('serve')
    .description('serve every bundle under --models over WebSocket (split tail and full offload), with /healthz /readyz /metrics /v1/models')
    .addOption(o('--config <file>', 'JSON file with any of the options below (flags win)', 'CONFIG'))
    .addOption(o('--models <dir>', 'folder of bundles', 'MODELS'))
    .addOption(o('--port <n>', 'port (0: any free one)', 'PORT', int))
    .addOption(o('--host <addr>', 'address to listen on', 'HOST'))
    .addOption(o('--workers <n>', 'inference worker threads', 'WORKERS', int))
    .addOption(o('--intra-op-threads <n>', 'onnxruntime threads per worker', 'INTRA_OP_THREADS', int))
    .addOption(o('--max-batch <n>', 'largest batch', 'MAX_BATCH', int))
    .addOption(o('--max-queue-delay-us <n>', 'how long a batch may wait to fill', 'MAX_QUEUE_DELAY_US', int))
    .addOption(o('--max-queue <n>', 'queued requests per model graph before QUEUE_FULL', 'MAX_QUEUE', int))
    .addOption(o('--max-in-flight <n>', 'in-flight requests per connection', 'MAX_IN_FLIGHT', int))
    .addOption(o('--heartbeat-ms <n>', 'ping interval', 'HEARTBEAT_MS', int))
    .addOption(o('--drain-timeout-ms <n>', 'how long SIGTERM waits for in-flight requests', 'DRAIN_TIMEOUT_MS', int))
    .addOption(o('--rate-limit <n>', 'frames per second one connection may send (0: no limit)', 'RATE_LIMIT', int))
    .addOption(o('--rate-burst <n>', 'frames a connection may send at once', 'RATE_BURST', int))
    .addOption(o('--dedup-window-ms <n>', 'how long answers stay for retried request ids', 'DEDUP_WINDOW_MS', int))
    .addOption(o('--auth-secret <s>', 'require this bearer token', 'AUTH_SECRET'))
    .addOption(o('--auth-hmac-secret <s>', 'require HMAC-signed bearer tokens', 'AUTH_HMAC_SECRET'))
    .addOption(o('--origins <list>', 'comma-separated allowed Origin values', 'ORIGINS'))
    .addOption(o('--tls-key <file>', 'PEM key: serve wss://', 'TLS_KEY'))
    .addOption(o('--tls-cert <file>', 'PEM certificate', 'TLS_CERT'))
    .addOption(o('--log-level <level>', 'pino level', 'LOG_LEVEL').default('info'))
    .addOption(o('--web', 'also serve the browser demo at / (with a link proxy per profile, listening on 127.0.0.1)', 'WEB'))
    .action(async (flags: ServeFlags) => {
      process.exitCode = await serve(flags);
    });
}

async function serve(flags: ServeFlags): Promise<number> {
  const logger = pino({ level: flags.logLevel });
  const file = flags.config ? (JSON.parse(readFileSync(flags.config, 'utf8')) as Partial<EdgeServerOptions>) : {};
  const auth = flags.authHmacSecret
    ? ({ type: 'hmac', secret: flags.authHmacSecret } as const)
    : flags.authSecret
      ? ({ type: 'shared-secret', secret: flags.authSecret } as const)
      : file.auth;
  const options: EdgeServerOptions = {
    ...file,
    models: flags.models ?? file.models ?? 'models',
    port: flags.port ?? file.port,
    host: flags.host ?? file.host,
    workers: flags.workers ?? file.workers,
    intraOpThreads: flags.intraOpThreads ?? file.intraOpThreads,
    maxBatch: flags.maxBatch ?? file.maxBatch,
    maxQueueDelayUs: flags.maxQueueDelayUs ?? file.maxQueueDelayUs,
    maxQueue: flags.maxQueue ?? file.maxQueue,
    maxInFlight: flags.maxInFlight ?? file.maxInFlight,
    heartbeatMs: flags.heartbeatMs ?? file.heartbeatMs,
    drainTimeoutMs: flags.drainTimeoutMs ?? file.drainTimeoutMs,
    rateLimitPerSecond: flags.rateLimit ?? file.rateLimitPerSecond,
    rateBurst: flags.rateBurst ?? file.rateBurst,
    dedupWindowMs: flags.dedupWindowMs ?? file.dedupWindowMs,
    auth,
    origins: flags.origins ? flags.origins.split(',').map((s) => s.trim()) : file.origins,
    tls: flags.tlsKey && flags.tlsCert ? { key: readFileSync(flags.tlsKey), cert: readFileSync(flags.tlsCert) } : file.tls,
    logger,
  };
  let edge;
  let stopDemo: (() => Promise<void>) | undefined;
  try {
    if (flags.web) options.web = webOptions();
    edge = await createEdgeServer(options);
    if (options.web) {
      stopDemo = await startWebDemo(options.web, options.models, Number(new URL(edge.url).port));
      logger.info({ event: 'web', url: edge.url.replace(/^ws/, 'http') + '/' }, 'browser demo: open this URL');
    }
  } catch (e) {
    logger.error({ code: (e as { code?: string }).code, err: (e as Error).message }, 'cannot start');
    await edge?.close();
    return 1;
  }
  // Machine-readable line for scripts and tests that start the server on port 0.
  console.log(JSON.stringify({ listening: edge.url }));
  await new Promise<void>((resolve) => {
    const onSignal = (signal: string): void => {
      logger.info({ event: 'signal', signal }, 'draining');
      void edge.drain().then(() => stopDemo?.()).then(resolve);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  return 0;
}
