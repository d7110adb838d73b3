#!/usr/bin/env bash
# Omniglot on one H100/H200: MAML 5-way 1-shot, 5-way 5-shot, 20-way 1-shot and
# Reptile 5-way 1-shot, each trained for a fixed budget and tested on 600 tasks.
#
#   AUTOML_META_OMNIGLOT=../shared/omniglot benchmarks/omniglot_gpu.sh            # all four (about 17 min)
#   benchmarks/omniglot_gpu.sh maml-20w1s                                          # one configuration (fits a 10-min call)
#   SMOKE=1 benchmarks/omniglot_gpu.sh                                             # CPU check: 3 s per config, meta-batch 2, 8 test tasks
#
# Budgets: 170 s for the 5-way configurations, 470 s for 20-way (plus warm-up
# and the 600-task test). Every configuration is torch.compile'd with CUDA graphs
# (warm-up, not training time; a mode that fails falls back to the next one, then
# to eager): COMPILE=default compiles without CUDA graphs, COMPILE=0 not at all.
# PYTHON picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
CONFIGS=("$@")
if [ ${#CONFIGS[@]} -eq 0 ]; then
  CONFIGS=(maml-5w1s maml-5w5s maml-20w1s reptile-5w1s)
fi
EXTRA=()
SMOKE="${SMOKE:-0}"
if [ "$SMOKE" = "1" ]; then
  EXTRA=(--device cpu --seconds 3 --tasks 8 --meta-batch 2)
  export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
else
  if ! "$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "no CUDA device visible; run with SMOKE=1 for a CPU check" >&2
    exit 1
  fi
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi
for config in "${CONFIGS[@]}"; do
  FLAGS=("${EXTRA[@]}")
  case "${COMPILE:-reduce-overhead}:$SMOKE" in
    0:* | *:1) ;;
    *) FLAGS+=(--compile "${COMPILE:-reduce-overhead}") ;;
  esac
  "$PYTHON" benchmarks/omniglot.py "$config" "${FLAGS[@]}"
done
