/** The messages between the page (main thread) and the device worker (web/device-worker.ts). */
import type { InferResult } from '../head/device.js';
import type { LinkName } from '../head/devices.js';
import type { PolicyOptions } from '../head/policy.js';
import type { Manifest } from '../protocol/manifest.js';

/** What `/v1/demo` answers (cli/web.ts writes it): the bundle the page runs and the links it may pick. */
export interface DemoInfo {
  bundle: { id: string; version: string; ratePoints: string[]; labels: string[] };
  /** By name: the port on the page's host (the edge itself for loopback, else a shaping proxy), the radio and the figures. */
  links: Record<string, { port: number; radio: LinkName; upMbps: number; downMbps: number; rttMs: number; source: string }>;
}

/** What the page asks the device to be: one `createDevice` call's options. */
export interface DeviceSettings {
  /** ws:// URL of the edge (or of a link proxy in front of it). */
  edge: string;
  /** Device class (head/devices.ts). */
  device: string;
  /** The radio the energy model charges (the link profile's). */
  radio: LinkName;
  policy: Partial<PolicyOptions>;
}

/** A file being fetched, for the progress bar: bytes so far and expected (decoded sizes). */
export interface Progress {
  part: 'runtime' | 'model' | 'images';
  loaded: number;
  total: number;
}

export type ToWorker =
  /** The page listens now: the worker may send (it holds its messages until then). */
  | { type: 'hello' }
  /** Fetch the bundle (manifest, graphs, tables) into memory; answered by `loaded`. */
  | { type: 'load'; bundleUrl: string }
  /**
   * Close the current device, then open one with these settings. Queued behind earlier work; when
   * a later `configure` is already waiting, this one is skipped ('superseded').
   */
  | { type: 'configure'; id: number; settings: DeviceSettings }
  /** Run samples in order on the current device (after any queued `configure`). */
  | { type: 'infer'; id: number; samples: Uint8Array[]; topK: number }
  /** Stop an `infer` before its next sample. */
  | { type: 'cancel'; id: number };

export type FromWorker =
  | ({ type: 'progress' } & Progress)
  | { type: 'loaded'; manifest: Manifest }
  | { type: 'configured'; id: number; outcome: 'ready' | 'superseded' | 'failed'; connected: boolean; message?: string }
  | { type: 'answer'; id: number; k: number; result: InferResult }
  | { type: 'done'; id: number; cancelled: boolean; error?: string }
  /**
   * Sent when any changes: handshaken with the edge; WebSockets this worker has open (any state
   * but closed); the most it ever had open at once.
   */
  | { type: 'connection'; connected: boolean; sockets: number; mostSockets: number }
  | { type: 'failed'; message: string }
  /** A loading step finished, at this epoch time in ms (the page records it as a performance mark). */
  | { type: 'mark'; name: string; at: number };
