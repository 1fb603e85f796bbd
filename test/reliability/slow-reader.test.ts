/**
 * A client that sends and never reads: the kernel's buffers fill, then the server's own send
 * buffer (ws bufferedAmount) — which is capped: past maxBufferedBytes the connection is closed
 * with 1008 and nothing more is buffered for it.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFrame, OP_BINARY, OP_CLOSE, RawSocket } from '../../bench/reliability/hostile.js';
import { helloFrame } from '../../bench/reliability/load.js';
import type { LoadedBundle } from '../../protocol/bundle.js';
import { createEdgeServer, type EdgeServer } from '../../tail/index.js';
import { tinyModels } from '../tail/client.js';

const MAX_BUFFERED = 256 * 1024;

let bundle: LoadedBundle;
let cleanup: () => Promise<void>;
let server: EdgeServer;
const events: { event?: string; buffered?: number }[] = [];
let sawSlowReader: () => void = () => {};
const slowReader = new Promise<void>((resolve) => {
  sawSlowReader = resolve;
});

beforeAll(async () => {
  let models: string;
  ({ models, bundle, cleanup } = await tinyModels());
  // The server's log, read by the test: the 'slow-reader' event is when it gave up on the peer.
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        const e = JSON.parse(line) as { event?: string; buffered?: number };
        events.push(e);
        if (e.event === 'slow-reader') sawSlowReader();
      }
      done();
    },
  });
  server = await createEdgeServer({
    models,
    port: 0,
    workers: 1,
    rateLimitPerSecond: 0,
    maxBufferedBytes: MAX_BUFFERED,
    logger: pino({ level: 'info' }, sink),
  });
});
afterAll(async () => {
  await server.close();
  await cleanup();
});

describe('a client that never reads', () => {
  it(`is closed with 1008 once ${MAX_BUFFERED / 1024} KiB wait unsent for it, and no more is buffered`, async () => {
    const s = await RawSocket.open(server.address.port);
    s.write(clientFrame(OP_BINARY, helloFrame(bundle), true));
    await s.next(OP_BINARY); // HelloAck
    s.socket.pause(); // from here on the client reads nothing
    // Malformed frames: each costs the server nothing to compute and earns an error frame back.
    const junk = clientFrame(OP_BINARY, Uint8Array.of(0xff, 0xff, 0xff), true);
    let sent = 0;
    let done = false;
    void slowReader.then(() => {
      done = true;
    });
    while (!done) {
      sent++;
      if (!s.write(junk)) await Promise.race([new Promise((resolve) => s.socket.once('drain', resolve)), slowReader]);
      if (sent % 1000 === 0) await new Promise((resolve) => setImmediate(resolve)); // let the log in
    }
    const e = events.find((x) => x.event === 'slow-reader')!;
    // The cap held: what waited was at most the cap plus the one frame that crossed it.
    expect(e.buffered).toBeGreaterThan(MAX_BUFFERED);
    expect(e.buffered).toBeLessThan(MAX_BUFFERED + 4096);
    s.socket.resume();
    const close = await s.next(OP_CLOSE);
    expect(close?.readUInt16BE(0)).toBe(1008);
    expect(close?.subarray(2).toString()).toBe('too much unread data');
    // Every error frame it was sent before the close is there, then nothing more: replies ≤ frames.
    const replies = s.frames.filter((f) => f.opcode === OP_BINARY).length;
    expect(replies).toBeLessThanOrEqual(sent);
    s.close();
  }, 60_000);
});
