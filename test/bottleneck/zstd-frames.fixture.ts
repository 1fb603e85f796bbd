/** Hand-made zstd frames for the hostile-input tests. */

/**
 * A frame whose header claims `claimed` bytes (8-byte content size, single segment), then one
 * last RLE block of `produced` zero bytes: honest when the two agree, a bomb or a liar otherwise.
 */
export function rleFrame(claimed: number, produced: number): Uint8Array {
  const out = new Uint8Array(4 + 1 + 8 + 3 + 1);
  out.set([0x28, 0xb5, 0x2f, 0xfd, 0xe0]);
  for (let i = 0, v = claimed; i < 8; i++, v = Math.floor(v / 256)) out[5 + i] = v % 256;
  const header = 1 | (1 << 1) | (produced << 3); // last block, RLE, block size
  out.set([header & 0xff, (header >>> 8) & 0xff, (header >>> 16) & 0xff], 13);
  return out;
}
