#!/usr/bin/env bash
# Omniglot on one H100/H200: MAML 5-way 1-shot, 5-way 5-shot, 20-way 1-shot and
# Reptile 5-way 1-shot, one after another, each trained for its own budget and
# tested on 600 tasks (one JSON line each, benchmarks/omniglot.py).
#
#   AUTOML_META_OMNIGLOT=../shared/omniglot benchmarks/omniglot_gpu.sh            # all four (about 25 min)
#   benchmarks/omniglot_gpu.sh maml-5w1s                                           # one configuration per 10-min call (20-way: gpu_lease.sh maml-20w1s:420)
#   SMOKE=1 benchmarks/omniglot_gpu.sh                                             # CPU check: 5 s per config, meta-batch 2, 8 test tasks
#
# Budgets: 170 s for the MAML 5-way configurations, 300 s for Reptile, 470 s
# for 20-way (plus warm-up and the test). Every configuration is
# torch.compile'd with CUDA graphs (warm-up, not training time; a mode that
# fails falls back to the next one, then to eager): COMPILE=default compiles
# without CUDA graphs, COMPILE=0 not at all. It is benchmarks/gpu_lease.sh with
# one lane, no throughput run and no deadline; PYTHON and LOG_DIR as there.
set -euo pipefail
CONFIGS=("$@")
if [ ${#CONFIGS[@]} -eq 0 ]; then
  CONFIGS=(maml-5w1s maml-5w5s maml-20w1s reptile-5w1s)
fi
LANE=$(IFS=,; echo "${CONFIGS[*]}")
THROUGHPUT=0 TOTAL="${TOTAL:-86400}" COMPILE_MODE="${COMPILE:-reduce-overhead}" exec "$(dirname "$0")/gpu_lease.sh" "$LANE"
