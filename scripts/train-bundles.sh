#!/usr/bin/env bash
# Trains the committed Fashion-MNIST bundles from bottleneck/train/configs/fmnist-b*.yaml
# (the teacher checkpoint must exist: bottleneck/train/checkpoints/teacher.pt), then evaluates
# each through the TS runtime. Long: run it in the background and follow its log:
#   nohup scripts/train-bundles.sh > bottleneck/train/runs/bundles.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
test -f bottleneck/train/checkpoints/teacher.pt || { echo "no bottleneck/train/checkpoints/teacher.pt: train or resume the teacher first" >&2; exit 1; }
npm run build --silent
mkdir -p bottleneck/train/runs
for config in "${@:-bottleneck/train/configs/fmnist-b8.yaml bottleneck/train/configs/fmnist-b16.yaml bottleneck/train/configs/fmnist-b32.yaml bottleneck/train/configs/fmnist-b64.yaml}"; do
  for c in $config; do
    id="$(basename "$c" .yaml)"
    echo "== $id $(date -u +%FT%TZ)"
    node dist/cli/index.js train --config "$c" --set threads=2
    node dist/cli/index.js eval --bundle "models/$id" --json "bottleneck/train/runs/$id-eval.json"
  done
done
echo "== done $(date -u +%FT%TZ)"
