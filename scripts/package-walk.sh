#!/usr/bin/env bash
# The npm package as a user meets it, as CI runs it: `npm pack`, then the tarball installed into
# fresh apps outside this repository, one per way of using it, each with only the optional peer
# dependencies (package.json's peerDependencies) that side needs:
#   core            offramp alone: the manifest of the bundle checked; `offramp --version` runs;
#                   a device, an edge and `offramp serve` fail with DEPENDENCY_MISSING naming the
#                   package to install
#   device (Node)   + onnxruntime-node: docs/API.md's quick start without an edge (exits, local)
#   device (web)    + onnxruntime-web: what a browser app installs (size only; the page is tested
#                   by the browser tests)
#   edge            + onnxruntime-node: docs/API.md's createEdgeServer example, /readyz, drain
#   full            + every peer: the README's commands from the app — `offramp serve --models`
#                   (port 0; the address line, /readyz, /v1/models), the quick start against it
#                   (and forced through the edge), `offramp serve --web` (the page), `offramp demo`
#                   with a small limit, SIGTERM drains and exits 0.
# `du -sk node_modules` of each install is printed as a table and written as JSON.
#
# Usage: scripts/package-walk.sh [sizes.json]   (default ${TMPDIR:-/tmp}/offramp-package-walk.json;
# needs dist/ and web/dist/, built by `npm run build`, run here when missing)
# OFFRAMP_WALK_BUNDLE=<bundle folder>: serve and run that bundle instead of the package's
#   models/fmnist-b32 (e.g. test/fixtures/tiny while models/ is being retrained).
# OFFRAMP_WALK_KEEP=1: keep the work folder (the apps, the tarball, the logs).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-${TMPDIR:-/tmp}/offramp-package-walk.json}
case "$OUT" in /*) ;; *) OUT=$ROOT/$OUT ;; esac
OVERRIDE=${OFFRAMP_WALK_BUNDLE:-}
if [ -n "$OVERRIDE" ]; then
  OVERRIDE=$(cd "$OVERRIDE" && pwd)
  [ -f "$OVERRIDE/manifest.json" ] || { echo "package-walk: $OVERRIDE has no manifest.json" >&2; exit 1; }
fi
{ [ -f dist/cli/index.js ] && [ -f web/dist/index.html ]; } || npm run build --silent
# npm >= 11 runs no dependency's install script unless the app approves it; onnxruntime-node's
# download step is skipped in any case (its CPU binaries ship in the package).
export ONNXRUNTIME_NODE_INSTALL=skip
# Outside the repository, so that nothing resolves from its node_modules.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/offramp-package-walk.XXXXXX")
SERVER=
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  if [ "${OFFRAMP_WALK_KEEP:-}" = 1 ]; then echo "package-walk: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
fail() {
  echo "package-walk: $*" >&2
  exit 1
}

echo "== pack"
npm pack --ignore-scripts --silent --pack-destination "$TMP" > "$TMP/pack.out"
TARBALL=$TMP/$(tail -n 1 "$TMP/pack.out")
[ -f "$TARBALL" ] || fail "npm pack wrote no tarball ($(cat "$TMP/pack.out"))"
tar -tzf "$TARBALL" > "$TMP/files.txt"
for want in package/dist/cli/index.js package/dist/node.js package/dist/tail/index.js package/web/dist/index.html \
  package/models/fmnist-b32/manifest.json package/data/fashion-mnist/t10k-images-idx3-ubyte.gz package/docs/API.md package/LICENSE package/README.md; do
  grep -qx "$want" "$TMP/files.txt" || fail "the tarball lacks ${want#package/}"
done
if grep -E '\.map$|\.bench\.|^package/(test|bench|head|tail|split|protocol|bottleneck|link|cli|scenario)/.*\.ts$' "$TMP/files.txt" | grep -v '\.d\.ts$' > "$TMP/extra.txt"; then
  fail "the tarball ships source maps, benches or sources: $(head -n 5 "$TMP/extra.txt" | tr '\n' ' ')"
fi
echo "$(basename "$TARBALL"): $(du -k "$TARBALL" | cut -f1) kB, $(wc -l < "$TMP/files.txt") files"

# The optional peers as package.json pins them: name@range.
peer() { node -e 'const p = require(process.argv[1]).peerDependencies; const r = p[process.argv[2]]; if (!r) process.exit(1); console.log(`${process.argv[2]}@${r}`);' "$ROOT/package.json" "$1"; }
ORT_NODE=$(peer onnxruntime-node)
ORT_WEB=$(peer onnxruntime-web)
VEGA=$(peer vega)
VEGA_LITE=$(peer vega-lite)

app() { # name packages... : a fresh ESM app with the tarball and these packages installed
  local dir=$TMP/app-$1
  shift
  mkdir -p "$dir"
  (
    cd "$dir"
    npm init -y > /dev/null
    npm pkg set type=module
    npm install --no-audit --no-fund --loglevel=error "$TARBALL" "$@" > install.log 2>&1 || { cat install.log >&2; exit 1; }
  ) || fail "npm install in $dir failed"
}

SIZES=()
measure() { # case dir packages
  local kb offramp_kb
  kb=$(du -sk "$2/node_modules" | cut -f1)
  offramp_kb=$(du -sk "$2/node_modules/offramp" | cut -f1)
  SIZES+=("$1|$3|$kb|$offramp_kb")
}

# docs/API.md's quick start (a device in Node.js) on a few of the shipped test images, with the
# bundle and the edge from the environment (the docs' values by default); every answer printed.
# WANT (a regular expression) is the set of paths allowed; every documented one by default.
write_device_app() {
  cat > "$1/device.mjs" <<'EOF'
import { createDevice, loadFashionMnistTest, imageAt } from 'offramp/node';

const bundle = process.env.BUNDLE ?? 'node_modules/offramp/models/fmnist-b32';
const edge = process.env.EDGE ?? 'ws://127.0.0.1:8080';
const force = process.env.FORCE; // e.g. always-offload: every answer from the edge
const want = new RegExp(`^(?:${process.env.WANT ?? 'exit:\\d+|edge|local|fallback'})$`);

const device = await createDevice({
  bundle,
  ...(edge ? { edge } : {}),
  profile: { device: 'phone-low', link: 'lte' },
  ...(force ? { policy: { force } } : {}),
});
const data = await loadFashionMnistTest();
let bad = 0;
for (let i = 0; i < Number(process.env.COUNT ?? 8); i++) {
  const r = await device.infer(imageAt(data, i), { topK: 3 });
  console.log(r.labelName, r.confidence, r.path, r.reason, r.bytesUp, r.timings.total, r.energy.totalJ);
  const ok = want.test(r.path) && r.labelName === device.manifest.labels[r.label] && r.topK?.length === 3 && r.timings.total > 0;
  if (!ok) bad++;
}
await device.close();
if (bad) {
  console.error(`device.mjs: ${bad} answers off (paths allowed: ${want.source})`);
  process.exit(1);
}
EOF
}

BUNDLE_REL=node_modules/offramp/models/fmnist-b32
MODELS_REL=node_modules/offramp/models
bundle_for() { # app dir -> the bundle and models folder its runs use
  if [ -n "$OVERRIDE" ]; then
    mkdir -p "$1/walk-models"
    cp -r "$OVERRIDE" "$1/walk-models/"
    BUNDLE=walk-models/$(basename "$OVERRIDE")
    MODELS=walk-models
  else
    BUNDLE=$BUNDLE_REL
    MODELS=$MODELS_REL
  fi
}

echo "== core: offramp alone"
app core
measure "core" "$TMP/app-core" "offramp"
bundle_for "$TMP/app-core"
cat > "$TMP/app-core/core.mjs" <<'EOF'
// Without onnxruntime-node a device and an edge fail with DEPENDENCY_MISSING naming the install.
// First the bundle's manifest alone (no onnxruntime needed): exit 3 when this version rejects it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDevice, isOfframpError, manifestFromBytes } from 'offramp/node';
import { createEdgeServer } from 'offramp/tail';

try {
  manifestFromBytes(readFileSync(join(process.env.BUNDLE, 'manifest.json')), process.env.BUNDLE);
} catch (e) {
  console.error(`${e.code}: ${e.message}`);
  process.exit(3);
}
let bad = 0;
for (const [what, start] of [
  ['createDevice', () => createDevice({ bundle: process.env.BUNDLE })],
  ['createEdgeServer', () => createEdgeServer({ models: process.env.MODELS, port: 0 })],
]) {
  try {
    const started = await start();
    await started.close();
    console.error(`${what}: started without onnxruntime-node`);
    bad++;
  } catch (e) {
    const named = isOfframpError(e, 'DEPENDENCY_MISSING') && e.message.includes('npm install onnxruntime-node');
    console.log(`${what}: ${e.code}: ${e.message.split('\n')[0]}`);
    if (!named) bad++;
  }
}
process.exit(bad ? 1 : 0);
EOF
rc=0
(cd "$TMP/app-core" && BUNDLE=$BUNDLE MODELS=$MODELS node core.mjs) || rc=$?
[ "$rc" != 3 ] || fail "this version rejects the bundle $BUNDLE (above); while models/ is being retrained, OFFRAMP_WALK_BUNDLE=test/fixtures/tiny walks the test bundle"
[ "$rc" = 0 ] || fail "core: a missing onnxruntime-node was not reported as DEPENDENCY_MISSING naming it"
(cd "$TMP/app-core" && npx --no-install offramp --version) || fail "core: npx offramp --version failed"
rc=0
(cd "$TMP/app-core" && timeout 60 npx --no-install offramp serve --models "$MODELS" --port 0) > "$TMP/core-serve.out" 2>&1 || rc=$?
grep -q 'DEPENDENCY_MISSING.*npm install onnxruntime-node' "$TMP/core-serve.out" && [ "$rc" = 1 ] || {
  cat "$TMP/core-serve.out" >&2
  fail "core: offramp serve without onnxruntime-node exited $rc, not 1 with DEPENDENCY_MISSING naming it"
}
echo "offramp serve: exit 1, $(grep -o 'DEPENDENCY_MISSING.*' "$TMP/core-serve.out" | tail -n 1)"

echo "== device (Node.js): offramp + $ORT_NODE"
app device-node "$ORT_NODE"
measure "device (Node.js)" "$TMP/app-device-node" "offramp $ORT_NODE"
bundle_for "$TMP/app-device-node"
write_device_app "$TMP/app-device-node"
# No edge: the exits and the local model answer.
(cd "$TMP/app-device-node" && BUNDLE=$BUNDLE EDGE= WANT='exit:\d+|local' node device.mjs) || fail "device (Node.js): the quick start without an edge failed"

echo "== device (browser app): offramp + $ORT_WEB"
app device-web "$ORT_WEB"
measure "device (browser app)" "$TMP/app-device-web" "offramp $ORT_WEB"

echo "== edge: offramp + $ORT_NODE"
app edge "$ORT_NODE"
measure "edge" "$TMP/app-edge" "offramp $ORT_NODE"
bundle_for "$TMP/app-edge"
cat > "$TMP/app-edge/edge.mjs" <<'EOF'
// docs/API.md's edge example, on port 0: ready, listing the bundles, then drained.
import { createEdgeServer } from 'offramp/tail';

const edge = await createEdgeServer({ models: process.env.MODELS ?? 'node_modules/offramp/models', port: 0 });
console.log(edge.url);
const base = `http://127.0.0.1:${edge.address.port}`;
const ready = await fetch(`${base}/readyz`);
const models = await (await fetch(`${base}/v1/models`)).json();
console.log('readyz', ready.status, JSON.stringify(models).slice(0, 200));
await edge.drain();
process.exit(ready.status === 200 && JSON.stringify(models).includes(process.env.BUNDLE_ID) ? 0 : 1);
EOF
BUNDLE_ID=$(node -e 'console.log(require(process.argv[1]).id)' "$TMP/app-edge/$BUNDLE/manifest.json")
(cd "$TMP/app-edge" && MODELS=$MODELS BUNDLE_ID=$BUNDLE_ID node edge.mjs) || fail "edge: createEdgeServer's example failed"

echo "== full: offramp + $ORT_NODE $ORT_WEB $VEGA $VEGA_LITE"
app full "$ORT_NODE" "$ORT_WEB" "$VEGA" "$VEGA_LITE"
measure "full" "$TMP/app-full" "offramp $ORT_NODE $ORT_WEB $VEGA $VEGA_LITE"
bundle_for "$TMP/app-full"
write_device_app "$TMP/app-full"
APP=$TMP/app-full

start_server() { # log extra-flags... : `offramp serve` from the app in the background, until /readyz answers 200
  local log=$1
  shift
  # The bin `npx offramp` runs, itself: npm exec does not pass SIGTERM on to it.
  (cd "$APP" && exec node_modules/.bin/offramp serve --models "$MODELS" --port 0 --workers 1 --log-level warn "$@") > "$log" 2> "$log.err" &
  SERVER=$!
  URL=
  for _ in $(seq 1 600); do
    [ -n "$URL" ] || URL=$(sed -n 's/^{"listening":"\(ws:[^"]*\)"}$/\1/p' "$log")
    if [ -n "$URL" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "http${URL#ws}/readyz")" = 200 ]; then return 0; fi
    kill -0 "$SERVER" 2> /dev/null || { cat "$log" "$log.err" >&2; fail "offramp serve exited"; }
    sleep 0.1
  done
  cat "$log" "$log.err" >&2
  fail "offramp serve was not ready within 60 s"
}
stop_server() { # SIGTERM drains; the process must exit 0 within 15 s
  kill -TERM "$SERVER"
  for _ in $(seq 1 150); do kill -0 "$SERVER" 2> /dev/null || break; sleep 0.1; done
  kill -0 "$SERVER" 2> /dev/null && fail "offramp serve did not exit within 15 s of SIGTERM"
  local rc=0
  wait "$SERVER" || rc=$?
  SERVER=
  [ "$rc" = 0 ] || fail "offramp serve exited $rc after SIGTERM"
}

echo "-- offramp serve --models $MODELS --port 0"
start_server "$TMP/serve.out"
HTTP=http${URL#ws}
echo "listening on $URL, /readyz 200"
curl -sf -o "$TMP/models.json" "$HTTP/v1/models" && grep -q "\"$BUNDLE_ID\"" "$TMP/models.json" || fail "/v1/models does not list $BUNDLE_ID"
echo "-- the quick start against it (adaptive), then every request forced through the edge"
(cd "$APP" && BUNDLE=$BUNDLE EDGE=$URL node device.mjs) || fail "full: the quick start against the edge failed"
(cd "$APP" && BUNDLE=$BUNDLE EDGE=$URL FORCE=always-offload WANT=edge COUNT=4 node device.mjs) || fail "full: answers forced through the edge did not come from it"
stop_server
echo "drained on SIGTERM, exit 0"

echo "-- offramp serve --models $MODELS --web"
start_server "$TMP/serve-web.out" --web
PAGE=
for _ in $(seq 1 50); do
  PAGE=$(sed -n 's/^Open the browser demo at \(http:[^ ]*\)$/\1/p' "$TMP/serve-web.out")
  [ -n "$PAGE" ] && break
  sleep 0.1
done
[ -n "$PAGE" ] || fail "serve --web printed no page address"
curl -sf -o "$TMP/page.html" "$PAGE" && grep -qi '<html' "$TMP/page.html" || fail "$PAGE did not serve the page"
echo "page at $PAGE"
stop_server

echo "-- offramp demo (a small limit)"
DEMO_BUNDLE=()
[ -z "$OVERRIDE" ] || DEMO_BUNDLE=(--bundle "$BUNDLE")
(cd "$APP" && npx --no-install offramp demo "${DEMO_BUNDLE[@]}" --devices phone-low --links wifi --limit 20 --no-progress) > "$TMP/demo.out" 2>&1 || { cat "$TMP/demo.out" >&2; fail "offramp demo failed"; }
cat "$TMP/demo.out"
grep -q "^offramp demo: $(basename "$BUNDLE") served" "$TMP/demo.out" || fail "offramp demo ran another bundle than $BUNDLE"
grep -Eq '^\| phone-low \| wifi \| .* \| [0-9.]+% \|' "$TMP/demo.out" || fail "offramp demo printed no result row"

echo "== install sizes (du -sk node_modules; npm $(npm --version), node $(node --version))"
{
  printf '| install | packages | node_modules kB | of which offramp kB |\n|---|---|---|---|\n'
  for row in "${SIZES[@]}"; do IFS='|' read -r c p kb okb <<< "$row"; printf '| %s | %s | %s | %s |\n' "$c" "$p" "$kb" "$okb"; done
} | tee "$TMP/sizes.md"
node -e '
const [out, tarball, npmV, ...rows] = process.argv.slice(1);
const installs = rows.map((r) => { const [name, packages, kB, offrampKB] = r.split("|"); return { install: name, packages: packages.split(" "), nodeModulesKB: Number(kB), offrampKB: Number(offrampKB) }; });
const body = { command: "du -sk node_modules", tarball: { file: require("path").basename(tarball), bytes: require("fs").statSync(tarball).size }, node: process.version, npm: npmV, installs };
require("fs").writeFileSync(out, JSON.stringify(body, null, 2) + "\n");
' "$OUT" "$TARBALL" "$(npm --version)" "${SIZES[@]}"
echo "sizes written to $OUT"
echo "package-walk: ok${OVERRIDE:+ (bundle: $OVERRIDE)}"
