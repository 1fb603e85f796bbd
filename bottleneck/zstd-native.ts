/** The native zstd backend (zstd-napi, Node.js only) and the Node.js choice between it and wasm. */
import { OfframpError } from '../protocol/errors.js';
import { checkZstdFrame, loadZstdWasm, type ZstdBackend } from './zstd.js';

interface ZstdNapiBinding {
  CCtx: new () => { compress(dst: Uint8Array, src: Uint8Array, level: number): number };
  DCtx: new () => { decompress(dst: Uint8Array, src: Uint8Array): number };
  compressBound(size: number): number;
}

let native: ZstdBackend | null | undefined;

/** Why the native backend did not load, when it did not. */
export let nativeLoadError: string | undefined;

/** The native backend (zstd-napi), or `null` when the optional dependency is not installed/built. */
export async function loadZstdNative(): Promise<ZstdBackend | null> {
  if (native !== undefined) return native;
  try {
    // The low-level binding: fixed-size destination buffers (ZSTD_compressCCtx/ZSTD_decompressDCtx).
    const { createRequire } = await import('node:module');
    const b = createRequire(import.meta.url)('zstd-napi/binding') as ZstdNapiBinding;
    const cctx = new b.CCtx();
    const dctx = new b.DCtx();
    native = {
      name: 'zstd-napi (native)',
      compress(data, level) {
        const dst = new Uint8Array(b.compressBound(data.length));
        return dst.subarray(0, cctx.compress(dst, data, level));
      },
      decompress(frame, expectedSize) {
        checkZstdFrame(frame, expectedSize);
        const dst = new Uint8Array(expectedSize);
        let n: number;
        try {
          n = dctx.decompress(dst, frame);
        } catch (err) {
          throw new OfframpError('BAD_REQUEST', `zstd frame is corrupt: ${(err as Error).message}`, { cause: err });
        }
        if (n !== expectedSize) throw new OfframpError('BAD_REQUEST', 'zstd frame is corrupt or its content does not match its header');
        return dst;
      },
    };
  } catch (err) {
    native = null;
    nativeLoadError = (err as Error).message;
  }
  return native;
}

/**
 * A zstd backend: 'auto' (default) is native when it loaded, else wasm; 'native' fails with
 * CODEC_UNAVAILABLE when it did not load.
 */
export async function loadZstd(prefer: 'auto' | 'native' | 'wasm' = 'auto'): Promise<ZstdBackend> {
  if (prefer !== 'wasm') {
    const n = await loadZstdNative();
    if (n) return n;
    if (prefer === 'native') throw new OfframpError('CODEC_UNAVAILABLE', 'zstd-napi is not installed or did not build');
  }
  return loadZstdWasm();
}
