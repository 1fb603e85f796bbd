/**
 * `offramp serve`: every option is defined once below (flag, config-file key, OFFRAMP_* variable,
 * default, check, help); flags win over the variables' values and the JSON config file, which win
 * over the defaults (tail/options.ts).
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { Command } from 'commander';
import { pino } from 'pino';
import { DEFAULTS, type EdgeServerOptions } from '../tail/options.js';
import { createEdgeServer } from '../tail/server.js';
import { addOptions, resolveOptions, type OptionSpec } from './options.js';
import { startWebDemo, webOptions } from './web.js';

const int = (min = 0): OptionSpec['kind'] => ({ type: 'int', min });

/** The serve command's options; `key` is the EdgeServerOptions field (or a CLI-only setting). */
export const SERVE_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'models',
    flag: '--models <dir>',
    env: 'MODELS',
    kind: { type: 'string' },
    default: 'models',
    help: 'folder of bundles (each subfolder with a manifest.json)',
  },
  { key: 'port', flag: '--port <n>', env: 'PORT', kind: { type: 'int', min: 0, max: 65535 }, default: DEFAULTS.port, help: 'port (0: any free one)' },
  {
    key: 'host',
    flag: '--host <addr>',
    env: 'HOST',
    kind: { type: 'string' },
    default: DEFAULTS.host,
    help: 'address to listen on (0.0.0.0: every interface)',
  },
  { key: 'workers', flag: '--workers <n>', env: 'WORKERS', kind: int(1), default: DEFAULTS.workers, help: 'inference worker threads' },
  {
    key: 'intraOpThreads',
    flag: '--intra-op-threads <n>',
    env: 'INTRA_OP_THREADS',
    kind: int(1),
    default: DEFAULTS.intraOpThreads,
    help: 'onnxruntime threads per worker',
  },
  {
    key: 'workerNice',
    flag: '--worker-nice <n>',
    env: 'WORKER_NICE',
    kind: { type: 'int', min: 0, max: 19 },
    default: DEFAULTS.workerNice,
    help: 'nice value of the inference threads (Linux): the event loop answers first',
  },
  { key: 'maxBatch', flag: '--max-batch <n>', env: 'MAX_BATCH', kind: int(1), default: DEFAULTS.maxBatch, help: 'largest batch the batcher forms' },
  {
    key: 'maxQueueDelayUs',
    flag: '--max-queue-delay-us <n>',
    env: 'MAX_QUEUE_DELAY_US',
    kind: int(0),
    default: DEFAULTS.maxQueueDelayUs,
    help: 'how long the oldest queued request may wait for a batch to fill, µs',
  },
  {
    key: 'maxQueue',
    flag: '--max-queue <n>',
    env: 'MAX_QUEUE',
    kind: int(1),
    default: DEFAULTS.maxQueue,
    help: 'queued requests per model graph before QUEUE_FULL',
  },
  {
    key: 'maxInFlight',
    flag: '--max-in-flight <n>',
    env: 'MAX_IN_FLIGHT',
    kind: int(1),
    default: DEFAULTS.maxInFlight,
    help: 'unanswered requests per connection (the credit window in HelloAck)',
  },
  {
    key: 'defaultDeadlineMs',
    flag: '--default-deadline-ms <n>',
    env: 'DEFAULT_DEADLINE_MS',
    kind: int(1),
    default: DEFAULTS.defaultDeadlineMs,
    help: 'deadline of requests that set none, ms',
  },
  {
    key: 'maxDeadlineMs',
    flag: '--max-deadline-ms <n>',
    env: 'MAX_DEADLINE_MS',
    kind: int(1),
    default: DEFAULTS.maxDeadlineMs,
    help: 'longest deadline a device may ask for, ms',
  },
  {
    key: 'heartbeatMs',
    flag: '--heartbeat-ms <n>',
    env: 'HEARTBEAT_MS',
    kind: int(1),
    default: DEFAULTS.heartbeatMs,
    help: 'ping interval; a peer that missed the last pong is dropped',
  },
  {
    key: 'maxFrameBytes',
    flag: '--max-frame-bytes <n>',
    env: 'MAX_FRAME_BYTES',
    kind: int(1024),
    help: 'largest frame read or sent (default: the largest float32 feature or raw input of the bundles + 4 KiB; raise it for large tensor answers)',
  },
  {
    key: 'maxBufferedBytes',
    flag: '--max-buffered-bytes <n>',
    env: 'MAX_BUFFERED_BYTES',
    kind: int(1),
    default: DEFAULTS.maxBufferedBytes,
    help: 'unsent bytes per connection before it is closed (1008)',
  },
  {
    key: 'drainTimeoutMs',
    flag: '--drain-timeout-ms <n>',
    env: 'DRAIN_TIMEOUT_MS',
    kind: int(0),
    default: DEFAULTS.drainTimeoutMs,
    help: 'how long SIGTERM waits for in-flight requests',
  },
  {
    key: 'helloTimeoutMs',
    flag: '--hello-timeout-ms <n>',
    env: 'HELLO_TIMEOUT_MS',
    kind: int(1),
    default: DEFAULTS.helloTimeoutMs,
    help: 'how long a connection has to send its Hello',
  },
  {
    key: 'rateLimitPerSecond',
    flag: '--rate-limit-per-second <n>',
    env: 'RATE_LIMIT_PER_SECOND',
    kind: int(0),
    default: DEFAULTS.rateLimitPerSecond,
    help: 'frames per second one connection may send (0: no limit; the credit window is the flow control)',
  },
  {
    key: 'rateBurst',
    flag: '--rate-burst <n>',
    env: 'RATE_BURST',
    kind: int(1),
    default: DEFAULTS.rateBurst,
    help: 'frames a connection may send at once under the rate limit',
  },
  {
    key: 'dedupWindowMs',
    flag: '--dedup-window-ms <n>',
    env: 'DEDUP_WINDOW_MS',
    kind: int(0),
    default: DEFAULTS.dedupWindowMs,
    help: 'how long answers stay for retried request ids',
  },
  {
    key: 'dedupMaxBytes',
    flag: '--dedup-max-bytes <n>',
    env: 'DEDUP_MAX_BYTES',
    kind: int(0),
    default: DEFAULTS.dedupMaxBytes,
    help: 'memory the dedup window may hold',
  },
  { key: 'authSecret', flag: '--auth-secret <s>', env: 'AUTH_SECRET', kind: { type: 'string' }, help: 'require this bearer token' },
  {
    key: 'authHmacSecret',
    flag: '--auth-hmac-secret <s>',
    env: 'AUTH_HMAC_SECRET',
    kind: { type: 'string' },
    help: 'require HMAC-signed bearer tokens (docs/PROTOCOL.md §8)',
  },
  { key: 'origins', flag: '--origins <list>', env: 'ORIGINS', kind: { type: 'list' }, help: 'comma-separated allowed Origin values' },
  { key: 'tlsKey', flag: '--tls-key <file>', env: 'TLS_KEY', kind: { type: 'string' }, help: 'PEM key: serve wss:// and https://' },
  { key: 'tlsCert', flag: '--tls-cert <file>', env: 'TLS_CERT', kind: { type: 'string' }, help: 'PEM certificate' },
  {
    key: 'logLevel',
    flag: '--log-level <level>',
    env: 'LOG_LEVEL',
    kind: { type: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    default: 'info',
    help: 'log level (pino)',
  },
  {
    key: 'web',
    flag: '--web',
    env: 'WEB',
    kind: { type: 'bool' },
    default: false,
    help: 'also serve the browser demo at / with a link proxy per link profile',
  },
  {
    key: 'lan',
    flag: '--lan',
    env: 'LAN',
    kind: { type: 'bool' },
    default: false,
    help: 'with --web: listen (edge and link proxies) on every interface, so a phone on the network can open the page',
  },
];

/** Adds the `serve` subcommand to `program`. */
export function addServeCommand(program: Command): void {
  const cmd = program
    .command('serve')
    .description('serve every bundle under --models over WebSocket (split tail and full offload), with /healthz /readyz /metrics /v1/models')
    .option('--config <file>', 'JSON file with any of the options below, keyed as in the docs (flags win)');
  addOptions(cmd, SERVE_OPTIONS).action(async (flags: Record<string, unknown>) => {
    process.exitCode = await serve(flags);
  });
}

/** EdgeServerOptions from resolved serve options. */
export function edgeOptions(o: Record<string, unknown>): EdgeServerOptions {
  // Resolved by resolveOptions: strings where given (the checks ran there).
  const {
    authSecret,
    authHmacSecret,
    tlsKey,
    tlsCert,
    logLevel: _level,
    web: _web,
    lan,
    ...rest
  } = o as Record<string, unknown> & {
    authSecret?: string;
    authHmacSecret?: string;
    tlsKey?: string;
    tlsCert?: string;
  };
  if (Boolean(tlsKey) !== Boolean(tlsCert)) throw new RangeError('--tls-key and --tls-cert go together: give both to serve wss://, or neither');
  return {
    ...(rest as Partial<EdgeServerOptions> & { models: string }),
    ...(lan ? { host: '0.0.0.0' } : {}),
    ...(authHmacSecret ? { auth: { type: 'hmac', secret: authHmacSecret } } : authSecret ? { auth: { type: 'shared-secret', secret: authSecret } } : {}),
    ...(tlsKey && tlsCert ? { tls: { key: readFileSync(tlsKey), cert: readFileSync(tlsCert) } } : {}),
  };
}

async function serve(flags: Record<string, unknown>): Promise<number> {
  let o: Record<string, unknown>;
  try {
    const config = typeof flags.config === 'string' ? (JSON.parse(readFileSync(flags.config, 'utf8')) as Record<string, unknown>) : {};
    o = resolveOptions(SERVE_OPTIONS, flags, config, typeof flags.config === 'string' ? flags.config : 'config');
    edgeOptions(o);
  } catch (e) {
    console.error(`offramp serve: ${(e as Error).message}`);
    return 2;
  }
  const logger = pino({ level: String(o.logLevel) });
  const options: EdgeServerOptions = { ...edgeOptions(o), logger };
  let edge;
  let stopDemo: (() => Promise<void>) | undefined;
  try {
    if (o.web) options.web = webOptions();
    edge = await createEdgeServer(options);
    if (options.web) stopDemo = await startWebDemo(options.web, options.models, edge.address.port, Boolean(o.lan));
  } catch (e) {
    const code = (e as { code?: string }).code;
    logger.error({ code, err: (e as Error).message }, 'cannot start');
    console.error(`offramp serve: ${code ?? 'ERROR'}: ${(e as Error).message}`);
    await edge?.close();
    return 1;
  }
  // Machine-readable line for scripts and tests that start the server on port 0.
  console.log(JSON.stringify({ listening: edge.url }));
  if (options.web) console.log(`Open the browser demo at http://${o.lan ? lanAddress() : '127.0.0.1'}:${edge.address.port}/`);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: string): void => {
      logger.info({ event: 'signal', signal }, 'draining');
      void edge
        .drain()
        .then(() => stopDemo?.())
        .then(resolve);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  return 0;
}

/** This machine's first non-internal IPv4 address (for the page's URL on a LAN), or 127.0.0.1. */
function lanAddress(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}
