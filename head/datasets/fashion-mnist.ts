/** The committed Fashion-MNIST test split (data/fashion-mnist/). */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { OfframpError } from '../../protocol/errors.js';
import { readIdx } from './idx.js';

/** Images as one uint8 buffer (row-major 28×28 each) plus labels. */
export interface ImageSet {
  count: number;
  height: number;
  width: number;
  images: Uint8Array;
  labels: Uint8Array;
}

/** The data/fashion-mnist folder, found from this file in the source tree or in dist/. */
export function fashionMnistDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'data', 'fashion-mnist');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new OfframpError('BUNDLE_FILE_MISSING', 'data/fashion-mnist not found above ' + fileURLToPath(import.meta.url));
}

/** Loads the 10,000-image test split (or another folder holding t10k-* IDX files). */
export async function loadFashionMnistTest(dir = fashionMnistDir()): Promise<ImageSet> {
  const [img, lab] = await Promise.all([readIdx(join(dir, 't10k-images-idx3-ubyte.gz')), readIdx(join(dir, 't10k-labels-idx1-ubyte.gz'))]);
  if (img.dims.length !== 3 || lab.dims.length !== 1 || img.dims[0] !== lab.dims[0]) {
    throw new OfframpError('INVALID_ARGUMENT', `images [${img.dims.join(', ')}] and labels [${lab.dims.join(', ')}] do not match`);
  }
  return { count: img.dims[0]!, height: img.dims[1]!, width: img.dims[2]!, images: img.data, labels: lab.data };
}

/** Image `i` as a view (no copy); INVALID_ARGUMENT outside 0 .. count − 1. */
export function imageAt(set: ImageSet, i: number): Uint8Array {
  if (!(Number.isInteger(i) && i >= 0 && i < set.count)) throw new OfframpError('INVALID_ARGUMENT', `image ${i} is outside the set's 0 .. ${set.count - 1}`);
  const size = set.height * set.width;
  return set.images.subarray(i * size, (i + 1) * size);
}
