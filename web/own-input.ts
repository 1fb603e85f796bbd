/**
 * Your own input: draw on a canvas or pick an image file; either becomes the model's raw input
 * (a width × height grayscale image, light object on a dark background like Fashion-MNIST).
 */

/** Grayscale of an RGBA image (ITU-R 601 luma). */
function luma(rgba: Uint8ClampedArray): Uint8Array {
  const out = new Uint8Array(rgba.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(0.299 * rgba[4 * i]! + 0.587 * rgba[4 * i + 1]! + 0.114 * rgba[4 * i + 2]!);
  return out;
}

/**
 * Scales `source` (aspect kept, centred) into a `width` × `height` grayscale image. A picture on
 * a light background (its border mostly light) is inverted, since the model saw dark backgrounds.
 */
export function toModelInput(
  source: CanvasImageSource & { width: number; height: number },
  width: number,
  height: number,
): { pixels: Uint8Array; inverted: boolean } {
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  const ctx = c.getContext('2d', { willReadFrequently: true })!;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  // Fill with the source's own corner colour so the margins match its background.
  const probe = document.createElement('canvas');
  probe.width = probe.height = 1;
  const pctx = probe.getContext('2d', { willReadFrequently: true })!;
  pctx.drawImage(source, 0, 0, 1, 1, 0, 0, 1, 1);
  const [r, g, b] = pctx.getImageData(0, 0, 1, 1).data;
  ctx.fillStyle = `rgb(${r},${g},${b})`;
  ctx.fillRect(0, 0, width, height);
  const scale = Math.min(width / source.width, height / source.height);
  const w = source.width * scale;
  const h = source.height * scale;
  ctx.drawImage(source, (width - w) / 2, (height - h) / 2, w, h);
  const pixels = luma(ctx.getImageData(0, 0, width, height).data);
  let border = 0;
  let n = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (x > 0 && y > 0 && x < width - 1 && y < height - 1) continue;
      border += pixels[y * width + x]!;
      n++;
    }
  }
  const inverted = border / n > 127;
  if (inverted) for (let i = 0; i < pixels.length; i++) pixels[i] = 255 - pixels[i]!;
  return { pixels, inverted };
}

/** Lets the user draw light strokes on `canvas` (dark background); calls `onStroke` after each stroke. */
export function drawable(canvas: HTMLCanvasElement, onStroke: () => void): { clear(): void } {
  const ctx = canvas.getContext('2d')!;
  const clear = (): void => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  let last: { x: number; y: number } | undefined;
  const at = (e: PointerEvent): { x: number; y: number } => {
    const r = canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * canvas.width, y: ((e.clientY - r.top) / r.height) * canvas.height };
  };
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = at(e);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!last) return;
    const p = at(e);
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = canvas.width / 12;
    ctx.lineCap = ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(last.x, last.y);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
    last = p;
  });
  const end = (): void => {
    if (!last) return;
    last = undefined;
    onStroke();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  return { clear };
}

/** Decodes an image file the user picked. */
export async function imageFromFile(file: File): Promise<ImageBitmap> {
  return createImageBitmap(file);
}
