/** Edge server options: every limit has a safe default; flags, env vars and a config file map here. */
import { pino, type Logger } from 'pino';

/** Who may connect. */
export type AuthOptions =
  /** Any bearer token equal to `secret`. */
  | { type: 'shared-secret'; secret: string }
  /** Tokens `base64url(JSON {sub, exp}).base64url(HMAC-SHA256(secret, first part))`, `exp` in Unix seconds. */
  | { type: 'hmac'; secret: string };

export interface EdgeServerOptions {
  /** Folder whose subfolders are bundles (each with a manifest.json). */
  models: string;
  port?: number;
  host?: string;
  /** Inference worker threads (one onnxruntime session per graph per worker). Default 2. */
  workers?: number;
  /** onnxruntime intra-op threads per worker. Default 1. */
  intraOpThreads?: number;
  /** Let onnxruntime threads spin while idle. Default false. */
  spinning?: boolean;
  /**
   * Nice value of the inference worker threads (Linux): above the event loop's, so frames are read,
   * refused and answered at once while the workers compute (19, the lowest priority: under overload
   * the loop waited behind them at 5). 0 leaves them as they are. Default 19.
   */
  workerNice?: number;
  /** Largest batch the batcher forms. Default 32. */
  maxBatch?: number;
  /** How long the oldest queued request may wait for a batch to fill, µs. Default 2000. */
  maxQueueDelayUs?: number;
  /**
   * Queued requests per model graph before QUEUE_FULL. Default 256 (8 batches of 32: under 3×
   * overload an fmnist-b32 answer took p50 ~55 ms here, not ~160 ms as with 1,024, and fewer queued
   * requests outlive a young-generation collection; docs/RELIABILITY.md).
   */
  maxQueue?: number;
  /** In-flight requests per connection (announced in HelloAck). Default 64. */
  maxInFlight?: number;
  /** Deadline for requests that do not set one (and whose Hello sets none), ms. Default 10000. */
  defaultDeadlineMs?: number;
  /** Longest deadline a request or Hello may ask for, ms. Default 60000. */
  maxDeadlineMs?: number;
  /** Ping interval; a peer that misses a pong by the next ping is terminated. Default 15000. */
  heartbeatMs?: number;
  /**
   * Largest frame the edge reads or sends, bytes (a larger request ends TOO_LARGE; an answer that
   * would be larger ends TOO_LARGE instead). Default: the largest float32 feature or raw input of
   * the served bundles plus 4 KiB — raise it for bundles with large tensor answers.
   */
  maxFrameBytes?: number;
  /** Close a connection with 1008 when its unsent bytes exceed this. Default 4 MiB. */
  maxBufferedBytes?: number;
  /** How long a drain waits for in-flight requests, ms. Default 10000. */
  drainTimeoutMs?: number;
  /**
   * Frames per second a connection may send after its Hello (token bucket; 0 = no limit, the
   * default: the in-flight window is the flow control). Excess frames get RATE_LIMITED with the
   * time until the next token; a connection refused more frames in a second than this is closed
   * with 1008.
   */
  rateLimitPerSecond?: number;
  /** The bucket's size (a burst allowed at once). Default 1000. */
  rateBurst?: number;
  /** How long a computed answer stays in the dedup window for retries of its id, ms. Default 60000. */
  dedupWindowMs?: number;
  /** Memory the dedup window's answers may take, bytes (estimated; the oldest go first). Default 16 MiB. */
  dedupMaxBytes?: number;
  /** Milliseconds a connection has to send its Hello. Default 10000. */
  helloTimeoutMs?: number;
  auth?: AuthOptions;
  /** Allowed Origin header values; absent = any (non-browser clients send none). */
  origins?: string[];
  /** PEM key and certificate: serve wss:// and https://. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /**
   * Serve a web app from this server too (`offramp serve --web`): files under `root` at `/`,
   * each `mounts` prefix (e.g. '/ort/') from its folder, and `demo` as JSON at `/v1/demo` (read
   * at request time, so it may be filled in after start).
   */
  web?: { root: string; mounts?: Record<string, string>; demo?: Record<string, unknown> };
  /** Server id announced in HelloAck. */
  serverId?: string;
  logger?: Logger;
}

/** Options with defaults applied. */
export type ResolvedOptions = Required<Omit<EdgeServerOptions, 'auth' | 'origins' | 'tls' | 'logger' | 'web' | 'maxFrameBytes'>> &
  Pick<EdgeServerOptions, 'auth' | 'origins' | 'tls' | 'web' | 'maxFrameBytes'> & { logger: Logger };

export const DEFAULTS = {
  port: 8080,
  host: '127.0.0.1',
  workers: 2,
  intraOpThreads: 1,
  spinning: false,
  workerNice: 19,
  maxBatch: 32,
  maxQueueDelayUs: 2000,
  maxQueue: 256,
  maxInFlight: 64,
  defaultDeadlineMs: 10_000,
  maxDeadlineMs: 60_000,
  heartbeatMs: 15_000,
  maxBufferedBytes: 4 * 1024 * 1024,
  drainTimeoutMs: 10_000,
  helloTimeoutMs: 10_000,
  rateLimitPerSecond: 0,
  rateBurst: 1000,
  dedupWindowMs: 60_000,
  dedupMaxBytes: 16 * 1024 * 1024,
} as const;

/** `options` over the defaults (undefined fields keep the default); a silent logger when none is given. */
export function resolveOptions(options: EdgeServerOptions): ResolvedOptions {
  return {
    ...DEFAULTS,
    serverId: `offramp-edge-${process.pid}`,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    logger: options.logger ?? pino({ level: 'silent' }),
  } as ResolvedOptions;
}
