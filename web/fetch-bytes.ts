/** Fetching whole files while counting the bytes that arrive (for the page's progress bar). */

/** Fetches `url`, calling `onBytes` with each chunk's size (decoded bytes); rejects on a non-2xx answer. */
export async function fetchBytes(url: string, onBytes: (n: number) => void, res?: Response): Promise<Uint8Array> {
  const r = res ?? (await fetch(url));
  if (!r.ok || !r.body) throw new Error(`${url}: HTTP ${r.status}`);
  const chunks: Uint8Array[] = [];
  await eachChunk(r, (c) => {
    chunks.push(c);
    onBytes(c.length);
  });
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Reads a response's body to its end, calling `onBytes` with each chunk's size; keeps nothing. */
export function countBytes(res: Response, onBytes: (n: number) => void): Promise<void> {
  return eachChunk(res, (c) => onBytes(c.length));
}

async function eachChunk(res: Response, fn: (chunk: Uint8Array) => void): Promise<void> {
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    fn(value);
  }
}

/**
 * The decoded size of an answer when the server says it: Content-Length, unless the body is
 * transfer-compressed (then Content-Length counts the compressed bytes).
 */
export function decodedLength(res: Response): number | undefined {
  if (res.headers.get('content-encoding')) return undefined;
  const n = Number(res.headers.get('content-length'));
  return Number.isFinite(n) && n > 0 ? n : undefined;
}
