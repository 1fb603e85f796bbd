/** Reading a spawned `offramp serve`'s address from its output. */
import type { ChildProcess } from 'node:child_process';

/**
 * The URL a spawned `offramp serve` prints as `{"listening": url}` once it serves; rejects if the
 * process exits first.
 */
export function waitForListening(child: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /\{"listening":"([^"]+)"\}/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`offramp serve exited (${code}) before listening: ${out}`)));
  });
}
