/**
 * web/device-host.ts with fake devices: one device at a time (the old one closed before the next
 * opens), configures overtaken while queued are 'superseded', work runs in the order it came,
 * answers stream per sample until done or cancelled, and every failure comes back as a message.
 */
import { describe, expect, it } from 'vitest';
import type { InferResult } from '../../head/device.js';
import { DeviceHost, type HostedDevice } from '../../web/device-host.js';
import type { DeviceSettings, FromWorker } from '../../web/messages.js';

const settings = (device: string): DeviceSettings => ({ edge: 'ws://127.0.0.1:1', device, radio: 'wifi', policy: {} });

/** A host over fake devices; `log` records opens, closes and infers in order, `posted` every message. */
function rig(o: { failOpen?: string } = {}) {
  const log: string[] = [];
  const posted: FromWorker[] = [];
  let sockets = 0;
  const open = (s: DeviceSettings): Promise<HostedDevice> => {
    log.push(`open ${s.device}`);
    if (o.failOpen === s.device) return Promise.reject(new Error(`cannot open ${s.device}`));
    sockets++;
    return Promise.resolve({
      connected: true,
      infer: (sample, opts) => {
        const first = (sample as Uint8Array)[0]!;
        log.push(`infer ${s.device} ${first} ${JSON.stringify(opts)}`);
        return Promise.resolve({ label: first, path: 'local', outputs: { x: { data: new Float32Array(1), dims: [1] } } } as unknown as InferResult);
      },
      close: () => {
        log.push(`close ${s.device}`);
        sockets--;
        return Promise.resolve();
      },
    });
  };
  const waiters: { test: (m: FromWorker) => boolean; resolve: () => void }[] = [];
  const post = (m: FromWorker): void => {
    posted.push(m);
    for (const w of waiters.filter((w) => w.test(m))) w.resolve();
  };
  const host = new DeviceHost({ post, open, sockets: () => ({ sockets, mostSockets: 1 }) });
  /** Resolves when the host posts a message of `type` for `id` (work runs in order: everything queued before it is done). */
  const posts = (type: 'configured' | 'done', id: number): Promise<void> =>
    new Promise((resolve) => waiters.push({ test: (m) => m.type === type && m.id === id, resolve }));
  return { host, log, posted, posts };
}

describe('DeviceHost', () => {
  it('closes the current device before it opens the next; a configure overtaken while queued is superseded', async () => {
    const { host, log, posted, posts } = rig();
    host.configure(1, settings('mcu'));
    await posts('configured', 1);
    host.configure(2, settings('rpi4'));
    host.configure(3, settings('laptop'));
    await posts('configured', 3);
    expect(log).toEqual(['open mcu', 'close mcu', 'open laptop']);
    expect(posted.filter((m) => m.type === 'configured')).toEqual([
      { type: 'configured', id: 1, outcome: 'ready', connected: true },
      { type: 'configured', id: 2, outcome: 'superseded', connected: false },
      { type: 'configured', id: 3, outcome: 'ready', connected: true },
    ]);
  });

  it('reports the connection and sockets when they change, only then', async () => {
    const { host, posted, posts } = rig();
    host.report();
    host.report();
    host.configure(1, settings('mcu'));
    await posts('configured', 1);
    expect(posted.filter((m) => m.type === 'connection')).toEqual([
      { type: 'connection', connected: false, sockets: 0, mostSockets: 1 },
      { type: 'connection', connected: true, sockets: 1, mostSockets: 1 },
    ]);
  });

  it('answers each sample in order on the device configured before, without output tensors, then done', async () => {
    const { host, log, posted, posts } = rig();
    host.configure(1, settings('mcu'));
    host.infer(2, [Uint8Array.of(4), Uint8Array.of(5)], 3);
    host.infer(3, [Uint8Array.of(6)], 0);
    await posts('done', 3);
    expect(log).toEqual(['open mcu', 'infer mcu 4 {"topK":3}', 'infer mcu 5 {"topK":3}', 'infer mcu 6 {}']);
    const answers = posted.filter((m) => m.type === 'answer' || m.type === 'done');
    expect(answers.map((m) => (m.type === 'answer' ? `answer ${m.id}:${m.k} ${m.result.label}` : `done ${m.id}`))).toEqual([
      'answer 2:0 4',
      'answer 2:1 5',
      'done 2',
      'answer 3:0 6',
      'done 3',
    ]);
    expect(answers.every((m) => m.type !== 'answer' || m.result.outputs === undefined)).toBe(true);
  });

  it('stops a cancelled infer before its next sample', async () => {
    const { host, posted, posts } = rig();
    host.configure(1, settings('mcu'));
    host.infer(2, [Uint8Array.of(4), Uint8Array.of(5)], 0);
    host.cancel(2);
    await posts('done', 2);
    expect(posted.filter((m) => m.type === 'answer')).toEqual([]);
    expect(posted.filter((m) => m.type === 'done')).toEqual([{ type: 'done', id: 2, cancelled: true }]);
  });

  it('reports failures as messages and keeps going: a device that does not open, an infer with no device', async () => {
    const { host, posted, posts } = rig({ failOpen: 'mcu' });
    host.infer(1, [Uint8Array.of(4)], 0);
    host.configure(2, settings('mcu'));
    host.configure(3, settings('rpi4'));
    await posts('configured', 3);
    expect(posted.filter((m) => m.type === 'done' || m.type === 'configured')).toEqual([
      { type: 'done', id: 1, cancelled: false, error: 'no device: configure first' },
      { type: 'configured', id: 2, outcome: 'superseded', connected: false },
      { type: 'configured', id: 3, outcome: 'ready', connected: true },
    ]);
    host.configure(4, settings('mcu'));
    await posts('configured', 4);
    expect(posted.at(-1)).toEqual({ type: 'configured', id: 4, outcome: 'failed', connected: false, message: 'cannot open mcu' });
  });
});
