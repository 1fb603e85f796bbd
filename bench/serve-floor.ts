/**
 * The transport floor of the serve benchmark: a WebSocket server (the same `ws` library, no
 * compression) that answers every request with one canned answer frame captured from the real
 * server — no frame decoding, no feature decoding, no batching, no onnxruntime. Its CPU per answer
 * under the same closed-loop clients is what one WebSocket message each way costs on this machine
 * (syscalls, the kernel's loopback TCP, ws framing): a cost any server answering one request per
 * message pays, which the raw onnxruntime baseline does not.
 *
 * Run as a child process (`startFloorServer`), so its CPU is read from /proc like the real server's.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';
import type { LoadedBundle } from '../protocol/bundle.js';
import { decodeFrame, encodeFrame, WANT } from '../protocol/index.js';
import { helloFrame, protocols } from './reliability/load.js';
import { waitForListening } from '../scenario/serve-process.js';

/**
 * The real server's HelloAck and its answer to one request (wanting timings, as the bench's
 * clients do). Rejects when the server answers anything else (an error frame would make the
 * floor a server of refusals) or closes first.
 */
export function captureFrames(url: string, b: LoadedBundle, rate: number, payload: Uint8Array): Promise<{ helloAck: Buffer; answer: Buffer }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols(), { perMessageDeflate: false });
    const frames: Buffer[] = [];
    const expected = ['helloAck', 'answer'] as const;
    ws.once('error', reject);
    ws.once('close', () => reject(new Error(`${url} closed after ${frames.length} of the 2 frames the floor replays`)));
    ws.on('open', () => ws.send(helloFrame(b, { clientName: 'bench-floor', ratePoints: [rate] })));
    ws.on('message', (d: Buffer) => {
      const got = decodeFrame(d);
      const want = expected[frames.length]!;
      if (!got.ok || got.message.type !== want) {
        ws.terminate();
        return reject(new Error(`expected ${want} from ${url}, got ${got.ok ? JSON.stringify(got.message).slice(0, 200) : 'an undecodable frame'}`));
      }
      frames.push(Buffer.from(d));
      if (frames.length === 1) ws.send(encodeFrame({ type: 'request', request: { id: 1, payload, rate, deadlineMs: 60_000, want: WANT.timings } }));
      else {
        resolve({ helloAck: frames[0]!, answer: frames[1]! });
        ws.close();
      }
    });
  });
}

/** Spawns the canned server (through tsx) on port 0; resolves once it listens. */
export async function startFloorServer(frames: { helloAck: Buffer; answer: Buffer }): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), frames.helloAck.toString('hex'), frames.answer.toString('hex')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await waitForListening(child);
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [helloAck, answer] = process.argv.slice(2, 4).map((h) => Buffer.from(h, 'hex'));
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, handleProtocols: (p) => [...p][0] ?? false });
  wss.on('connection', (ws) => {
    let hello = true;
    ws.on('message', () => {
      ws.send(hello ? helloAck! : answer!);
      hello = false;
    });
  });
  wss.on('listening', () => console.log(JSON.stringify({ listening: `ws://127.0.0.1:${(wss.address() as { port: number }).port}` })));
  process.on('SIGTERM', () => wss.close(() => process.exit(0)));
}
