#!/usr/bin/env bash
# Every GPU figure of the neural module in one call of under 10 minutes on one H100/H200.
#
#   AUTOML_META_OMNIGLOT=DIR LOG_DIR=DIR benchmarks/gpu_lease.sh
#   SMOKE=1 AUTOML_META_OMNIGLOT=../shared/omniglot benchmarks/gpu_lease.sh   # CPU check of the plumbing (eager), ~1 min
#
# 1. Alone on the GPU: meta-iterations per second of 5-way 1-shot second-order
#    MAML at meta-batch 32, per-task loop vs our vmapped core, eager and
#    compiled with CUDA graphs (benchmarks/maml_throughput.py).
# 2. Then three lanes side by side on the same GPU (so each runs slower than it
#    would alone, and its it/s says so): MAML 20-way 1-shot; MAML 5-way 1-shot
#    followed by 5-way 5-shot; Reptile 5-way 1-shot. Each is compiled with CUDA
#    graphs (falling back by itself), trained for a fixed budget and tested on
#    600 tasks (benchmarks/omniglot.py). Budgets: TRAIN_20W (330 s), TRAIN_5W
#    (150 s), TRAIN_5W5S (110 s), TRAIN_REPTILE (170 s); every lane shortens its
#    training so that its test ends TOTAL seconds (560) after the script starts.
#
# Every job writes its log and JSON to LOG_DIR (default benchmarks/logs); the
# summary at the end prints every JSON line.
set -uo pipefail
DEADLINE=$(( $(date +%s) + ${TOTAL:-560} ))
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
LOG_DIR="${LOG_DIR:-benchmarks/logs}"
mkdir -p "$LOG_DIR"
COMPILE=(--compile "${COMPILE_MODE:-reduce-overhead}")
if [ "${SMOKE:-0}" = "1" ]; then
  DEV=(--device cpu) ; SMALL=(--tasks 8 --meta-batch 2) ; SECONDS_SIDE=2 COMPILE=()
  TRAIN_20W=5 TRAIN_5W=5 TRAIN_5W5S=5 TRAIN_REPTILE=5
  export OMP_NUM_THREADS=1
else
  DEV=(--device cuda) ; SMALL=() ; SECONDS_SIDE="${SECONDS_SIDE:-6}"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader
  "$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))' || exit 1
fi

echo "== throughput, alone on the device ($(date +%T))"
"$PYTHON" benchmarks/maml_throughput.py "${DEV[@]}" --meta-batch 32 --seconds "$SECONDS_SIDE" \
  "${COMPILE[@]}" --json > "$LOG_DIR/throughput.json" 2> "$LOG_DIR/throughput.log"
cat "$LOG_DIR/throughput.json"

echo "== Omniglot, three lanes side by side ($(date +%T))"
omniglot() {  # name seconds
  "$PYTHON" benchmarks/omniglot.py "$1" --seconds "$2" --deadline "$DEADLINE" "${DEV[@]}" "${SMALL[@]}" "${COMPILE[@]}" --json \
    >> "$LOG_DIR/omniglot.jsonl" 2> "$LOG_DIR/$1.log" || echo "$1 failed: see $1.log" >&2
}
: > "$LOG_DIR/omniglot.jsonl"
omniglot maml-20w1s "${TRAIN_20W:-330}" &
(omniglot maml-5w1s "${TRAIN_5W:-150}"; omniglot maml-5w5s "${TRAIN_5W5S:-110}") &
omniglot reptile-5w1s "${TRAIN_REPTILE:-170}" &
wait
echo "== done ($(date +%T))"
cat "$LOG_DIR/omniglot.jsonl"
grep -h -i -E "failed|error|skipping cudagraphs" "$LOG_DIR"/*.log | cut -c1-400 | head -20
