/**
 * offramp/node — the device SDK pinned to Node.js (onnxruntime-node, `ws`, bundle folders,
 * native zstd when it built), plus the Node.js-only helpers: loadBundle (a folder with every
 * graph's ports checked by onnxruntime-node), the test data, native zstd.
 *
 * @example
 * ```ts
 * import { createDevice, loadFashionMnistTest, imageAt } from 'offramp/node';
 * const device = await createDevice({ bundle: 'models/fmnist-b32', edge: 'ws://127.0.0.1:8080' });
 * const data = await loadFashionMnistTest();
 * const r = await device.infer(imageAt(data, 0));
 * ```
 */
import { nodePlatform } from './head/platform-node.js';
import { registerPlatform } from './head/platform.js';

registerPlatform(nodePlatform);

export * from './index.js';
export { nodePlatform } from './head/platform-node.js';
export { loadBundle, folderReader as bundleFolderReader, sha256Hex, graphProblems, type LoadedBundle, type LoadBundleOptions } from './protocol/bundle.js';
export { loadZstd, loadZstdNative } from './bottleneck/zstd-native.js';
export { jpegJs, type JpegBackend } from './bottleneck/jpeg.js';
export { loadFashionMnistTest, fashionMnistDir, imageAt, type ImageSet } from './head/datasets/fashion-mnist.js';
export { parseIdx, readIdx, type IdxArray } from './head/datasets/idx.js';
