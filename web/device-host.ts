/**
 * The worker's device host: at most one device at a time, and the page's work on it run strictly
 * in the order it arrives. A `configure` closes the current device before it opens the next one
 * (and is skipped, 'superseded', when a later one already waits); an `infer` answers sample by
 * sample until done or cancelled. Errors go back to the page as messages, never into the queue.
 * Opening a device and counting sockets are given (web/device-core.ts), so this runs anywhere.
 */
import type { Device } from '../head/device.js';
import type { DeviceSettings, FromWorker } from './messages.js';

/** What the host needs of a device. */
export type HostedDevice = Pick<Device, 'connected' | 'infer' | 'close'>;

export interface HostOptions {
  post: (m: FromWorker) => void;
  /** Opens a device with these settings (once the runtime and the bundle are there). */
  open: (s: DeviceSettings) => Promise<HostedDevice>;
  /** WebSockets this worker has open now, and the most it ever had at once. */
  sockets: () => { sockets: number; mostSockets: number };
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class DeviceHost {
  private device: HostedDevice | undefined;
  /** The newest `configure` id: older ones still queued are skipped. */
  private latestConfigure = 0;
  private readonly cancelled = new Set<number>();
  private queue: Promise<void> = Promise.resolve();
  /** The connection state last posted. */
  private last = '';

  constructor(private readonly o: HostOptions) {}

  /** Tells the page the connection state and the sockets this worker holds, when any changed. */
  report(): void {
    const now = { connected: this.device?.connected ?? false, ...this.o.sockets() };
    const key = JSON.stringify(now);
    if (key !== this.last) this.o.post({ type: 'connection', ...now });
    this.last = key;
  }

  /** Replaces the device (after the work queued before); 'superseded' when a later configure waits. */
  configure(id: number, settings: DeviceSettings): void {
    this.latestConfigure = id;
    this.enqueue(
      () => this.reconfigure(id, settings),
      (message) => this.o.post({ type: 'configured', id, outcome: 'failed', connected: false, message }),
    );
  }

  /** Runs `samples` in order on the device (after the work queued before). */
  infer(id: number, samples: Uint8Array[], topK: number): void {
    this.enqueue(
      () => this.run(id, samples, topK),
      (error) => this.o.post({ type: 'done', id, cancelled: false, error }),
    );
  }

  /** Stops infer `id` before its next sample. */
  cancel(id: number): void {
    this.cancelled.add(id);
  }

  /** Runs `op` after everything queued before it; an error is reported, never thrown into the queue. */
  private enqueue(op: () => Promise<void>, onError: (message: string) => void): void {
    this.queue = this.queue.then(op).catch((e: unknown) => onError(messageOf(e)));
  }

  private async reconfigure(id: number, s: DeviceSettings): Promise<void> {
    const post = this.o.post;
    if (id !== this.latestConfigure) return post({ type: 'configured', id, outcome: 'superseded', connected: false });
    const old = this.device;
    this.device = undefined;
    await old?.close();
    this.report();
    this.device = await this.o.open(s);
    this.report();
    post({ type: 'configured', id, outcome: 'ready', connected: this.device.connected });
  }

  private async run(id: number, samples: Uint8Array[], topK: number): Promise<void> {
    for (let k = 0; k < samples.length; k++) {
      if (this.cancelled.delete(id)) return this.o.post({ type: 'done', id, cancelled: true });
      if (!this.device) throw new Error('no device: configure first');
      const result = await this.device.infer(samples[k]!, topK ? { topK } : {});
      // Output tensors are not shown; the rest is plain data.
      delete result.outputs;
      this.o.post({ type: 'answer', id, k, result });
    }
    this.cancelled.delete(id);
    this.o.post({ type: 'done', id, cancelled: false });
  }
}
