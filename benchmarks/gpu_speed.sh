#!/usr/bin/env bash
# The whole GPU speed benchmark, in a few minutes on one GPU (issue 7):
#
#   bash benchmarks/gpu_speed.sh            # results in $OUT (default /tmp/metaviz-gpu-speed/)
#
# 1. python -m metaviz bench speed --device cuda: sine and Omniglot-shaped MAML, first and second order,
#    the per-task loop against the engine, tasks/s, ratio, peak memory, float64 gradient check, and the
#    timings of the 41 x 41 landscape grid and the embedding projections (PCA, t-SNE);
# 2. a meta-batch too large for one vmap (1024 second-order Conv4 tasks): the engine must halve its chunk
#    until it fits instead of failing, and give the meta-gradient of fixed smaller chunks;
# 3. benchmarks/landscape_grid.py --device cuda: the grid batched against point by point (the Omniglot row
#    only where Omniglot's files are, see metaviz/data/omniglot.py).
#
# Each step has its own time limit, so one slow step cannot take the others with it. Record the tables in
# README.md with the GPU's name, the torch version and the date (they are printed at the top).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-${TMPDIR:-/tmp}/metaviz-gpu-speed}"

if ! python -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "no CUDA device visible to torch: install a CUDA build of torch (README.md, GPU)" >&2
    exit 1
fi
mkdir -p "$OUT"
python -c 'import torch; print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}")' \
    | tee "$OUT/device.txt"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >> "$OUT/device.txt" 2>&1 || true
date -u +%Y-%m-%dT%H:%M:%SZ >> "$OUT/device.txt"
status=0

echo "== 1. bench speed (cuda)"
timeout 300 python -m metaviz bench speed --device cuda --json "$OUT/speed_cuda.json" | tee "$OUT/speed_cuda.md" \
    || status=1

echo "== 2. a meta-batch too large for one vmap"
timeout 120 python - <<'PY' | tee "$OUT/oversized.json" || status=1
import json
from metaviz import speed
result = speed.oversized_batch("cuda", 1024)
print(json.dumps(result, indent=2))
assert result["chunk"] < result["meta_batch"], "1024 tasks fitted in one vmap: raise meta_batch to test the halving"
assert result["rel_diff_vs_half_chunks"] < 1e-4, "chunked meta-gradients differ by more than float32 rounding"
PY

echo "== 3. landscape grid, batched against point by point (cuda)"
timeout 150 python benchmarks/landscape_grid.py --device cuda | tee "$OUT/landscape_grid_cuda.md" || status=1

echo "results in $OUT"
exit $status
