/**
 * zstd behind one small interface. The portable backend is `zstd-codec` (wasm, Node and
 * browsers, here); `zstd-napi` (native, an optional dependency built by node-gyp; zstd-native.ts,
 * Node only) is preferred in Node when it loaded, the way ws treats `bufferutil`. zstd-codec's one-shot decompression allocates
 * whatever the frame header claims, so every decompression here first reads the header itself and
 * refuses, before any allocation, a frame that does not declare exactly the expected content
 * size; both backends then decompress into a buffer of exactly that size, so a frame that lies
 * (or hides a second frame) fails inside the cap.
 */
import { OfframpError } from '../protocol/errors.js';

/** A zstd implementation. */
export interface ZstdBackend {
  readonly name: string;
  compress(data: Uint8Array, level: number): Uint8Array;
  /** Decompresses one frame that must hold exactly `expectedSize` bytes. */
  decompress(frame: Uint8Array, expectedSize: number): Uint8Array;
}

const MAGIC = 0xfd2fb528;

/** The zstd frame header's declared content size, or `undefined` when it declares none. */
export function zstdContentSize(frame: Uint8Array): number | undefined {
  if (frame.length < 6) throw new OfframpError('BAD_REQUEST', `zstd frame of ${frame.length} bytes is truncated`);
  const magic = (frame[0]! | (frame[1]! << 8) | (frame[2]! << 16) | (frame[3]! << 24)) >>> 0;
  if (magic !== MAGIC) throw new OfframpError('BAD_REQUEST', 'payload is not a zstd frame (bad magic number)');
  const fhd = frame[4]!;
  const fcsFlag = fhd >>> 6;
  const singleSegment = (fhd >>> 5) & 1;
  if ((fhd >>> 3) & 1) throw new OfframpError('BAD_REQUEST', 'zstd frame header has its reserved bit set');
  const dictFlag = fhd & 3;
  if (dictFlag !== 0) throw new OfframpError('BAD_REQUEST', 'zstd frames with a dictionary id are not accepted');
  let pos = 5 + (singleSegment ? 0 : 1);
  const fcsBytes = fcsFlag === 0 ? singleSegment : fcsFlag === 1 ? 2 : fcsFlag === 2 ? 4 : 8;
  if (fcsBytes === 0) return undefined;
  if (frame.length < pos + fcsBytes) throw new OfframpError('BAD_REQUEST', 'zstd frame header is truncated');
  let size = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) size = size * 256 + frame[pos + i]!;
  pos += fcsBytes;
  return fcsFlag === 1 ? size + 256 : size;
}

/**
 * Checks `frame` may be decompressed into `expectedSize` bytes: TOO_LARGE when it claims more,
 * BAD_REQUEST when it claims less or nothing.
 */
export function checkZstdFrame(frame: Uint8Array, expectedSize: number): void {
  const declared = zstdContentSize(frame);
  if (declared === undefined) throw new OfframpError('BAD_REQUEST', 'zstd frame does not declare its content size');
  if (declared > expectedSize) {
    throw new OfframpError('TOO_LARGE', `zstd frame claims ${declared} bytes; the declared tensor holds ${expectedSize}`);
  }
  if (declared !== expectedSize) {
    throw new OfframpError('BAD_REQUEST', `zstd frame holds ${declared} bytes; the declared tensor holds ${expectedSize}`);
  }
}

interface ZstdCodecSimple {
  compress(data: Uint8Array, level?: number): Uint8Array | null;
  decompress(data: Uint8Array): Uint8Array | null;
}
interface ZstdCodecModule {
  ZstdCodec: { run(cb: (zstd: { Simple: new () => ZstdCodecSimple }) => void): void };
}

let wasm: Promise<ZstdBackend> | undefined;

/** The wasm backend (zstd-codec), initialised once per process. */
export function loadZstdWasm(): Promise<ZstdBackend> {
  wasm ??= new Promise<ZstdBackend>((resolve, reject) => {
    try {
      // zstd-codec is CommonJS without types; its initialisation is callback-based.
      void import('zstd-codec').then(
        (imported: unknown) => {
          const mod = ((imported as { default?: ZstdCodecModule }).default ?? imported) as ZstdCodecModule;
          mod.ZstdCodec.run((zstd) => {
            const simple = new zstd.Simple();
            resolve({
              name: 'zstd-codec (wasm)',
              compress(data, level) {
                const out = simple.compress(data, level);
                if (!out) throw new OfframpError('INTERNAL', 'zstd compression failed');
                return out;
              },
              decompress(frame, expectedSize) {
                checkZstdFrame(frame, expectedSize);
                let out: Uint8Array | null;
                try {
                  out = simple.decompress(frame);
                } catch (err) {
                  throw new OfframpError('BAD_REQUEST', `zstd frame is corrupt: ${String(err)}`, { cause: err });
                }
                if (!out || out.length !== expectedSize) {
                  throw new OfframpError('BAD_REQUEST', 'zstd frame is corrupt or its content does not match its header');
                }
                return out;
              },
            });
          });
        },
        (err: unknown) => {
          wasm = undefined;
          reject(new OfframpError('CODEC_UNAVAILABLE', `zstd-codec could not be loaded: ${String(err)}`, { cause: err }));
        },
      );
    } catch (err) {
      wasm = undefined;
      reject(new OfframpError('CODEC_UNAVAILABLE', `zstd-codec could not be loaded: ${String(err)}`, { cause: err }));
    }
  });
  return wasm;
}
