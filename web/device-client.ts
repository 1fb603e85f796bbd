/**
 * The page's handle on the device worker: promises over its messages. The worker runs work in
 * the order it is sent and closes a device before opening the next, so the page may call
 * `configure` as often as its controls change.
 */
import type { InferResult } from '../head/device.js';
import type { Manifest } from '../protocol/manifest.js';
import type { DeviceSettings, FromWorker, Progress, ToWorker } from './messages.js';

export interface Configured {
  outcome: 'ready' | 'superseded' | 'failed';
  connected: boolean;
  message?: string;
}

/** A running `infer`: each answer as it comes, and how it ended. */
export interface Job {
  id: number;
  done: Promise<{ cancelled: boolean; error?: string }>;
  cancel(): void;
}

export class DeviceClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly configuring = new Map<number, (c: Configured) => void>();
  private readonly jobs = new Map<number, { onAnswer: (k: number, r: InferResult) => void; end: (x: { cancelled: boolean; error?: string }) => void }>();
  private loaded: { resolve: (m: Manifest) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  /** Connection and open sockets (now, and the most at once), as the worker last reported them. */
  connection = { connected: false, sockets: 0, mostSockets: 0 };
  onProgress: (p: Progress) => void = () => {};
  onConnection: () => void = () => {};
  private readonly connectionWaiters = new Set<() => void>();

  /** `worker`: one index.html already started (it fetches the runtime at once), else a new one. */
  constructor(worker?: Worker) {
    this.worker = worker ?? new Worker(new URL('./device-worker.ts', import.meta.url), { type: 'module', name: 'offramp-device' });
    this.worker.onmessage = (e: MessageEvent<FromWorker>) => this.receive(e.data);
    this.worker.onerror = (e) => this.fail(new Error(e.message || 'the device worker failed to start'));
    this.send({ type: 'hello' });
  }

  private send(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  private receive(m: FromWorker): void {
    if (m.type === 'progress') this.onProgress(m);
    else if (m.type === 'loaded') this.loaded?.resolve(m.manifest);
    else if (m.type === 'failed') this.fail(new Error(m.message));
    else if (m.type === 'configured') {
      this.configuring.get(m.id)?.({ outcome: m.outcome, connected: m.connected, ...(m.message ? { message: m.message } : {}) });
      this.configuring.delete(m.id);
    } else if (m.type === 'answer') this.jobs.get(m.id)?.onAnswer(m.k, m.result);
    else if (m.type === 'done') {
      this.jobs.get(m.id)?.end({ cancelled: m.cancelled, ...(m.error ? { error: m.error } : {}) });
      this.jobs.delete(m.id);
    } else if (m.type === 'mark') {
      performance.mark(m.name, { startTime: m.at - performance.timeOrigin });
    } else if (m.type === 'connection') {
      this.connection = { connected: m.connected, sockets: m.sockets, mostSockets: m.mostSockets };
      this.onConnection();
      for (const w of [...this.connectionWaiters]) w();
    }
  }

  /** Loading failed: `load` rejects. */
  private fail(err: unknown): void {
    this.failure ??= err instanceof Error ? err : new Error(String(err));
    this.loaded?.reject(this.failure);
  }

  /** Fetches the bundle into the worker; resolves with its manifest, rejects when the runtime or the bundle fails. */
  load(bundleUrl: string): Promise<Manifest> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.loaded = { resolve, reject };
      this.send({ type: 'load', bundleUrl });
    });
  }

  /** Replaces the device (the previous one is closed first); 'superseded' when a later call overtook this one. */
  configure(settings: DeviceSettings): Promise<Configured> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.configuring.set(id, resolve);
      this.send({ type: 'configure', id, settings });
    });
  }

  /**
   * Resolves the connection state once it is `connected` (as the worker reports it), or as it is
   * after `timeoutMs`.
   */
  whenConnection(connected: boolean, timeoutMs: number): Promise<boolean> {
    if (this.connection.connected === connected || timeoutMs <= 0) return Promise.resolve(this.connection.connected);
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.connectionWaiters.delete(check);
        resolve(this.connection.connected);
      };
      const check = (): void => {
        if (this.connection.connected === connected) finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.connectionWaiters.add(check);
    });
  }

  /** Runs `samples` in order on the device; `onAnswer` gets each result with its position. */
  infer(samples: Uint8Array[], topK: number, onAnswer: (k: number, r: InferResult) => void): Job {
    const id = this.nextId++;
    const done = new Promise<{ cancelled: boolean; error?: string }>((end) => this.jobs.set(id, { onAnswer, end }));
    this.send({ type: 'infer', id, samples, topK });
    return { id, done, cancel: () => this.send({ type: 'cancel', id }) };
  }
}
