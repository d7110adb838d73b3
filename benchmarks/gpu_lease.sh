#!/usr/bin/env bash
# GPU figures of the neural module in one call of under 10 minutes on one H100/H200.
#
#   AUTOML_META_OMNIGLOT=DIR LOG_DIR=DIR benchmarks/gpu_lease.sh [LANE ...]
#   THROUGHPUT=0 benchmarks/gpu_lease.sh maml-20w1s-q15:420 reptile-5w1s:300   # the second lease
#   THROUGHPUT=0 TOTAL=575 benchmarks/gpu_lease.sh maml-20w1s   # 20-way alone, what the third lease ran through omniglot.py --deadline
#   SMOKE=1 AUTOML_META_OMNIGLOT=../shared/omniglot benchmarks/gpu_lease.sh   # CPU check of the plumbing (eager), ~1 min
#
# 1. Alone on the GPU (unless THROUGHPUT=0): meta-iterations per second of
#    5-way 1-shot second-order MAML at meta-batch 32, per-task loop vs our
#    vmapped core, eager and compiled with CUDA graphs (maml_throughput.py).
# 2. Then the lanes side by side on the same GPU (so each runs slower than it
#    would alone, and its it/s says so). A lane is CONFIG[:SECONDS] (without
#    SECONDS, the configuration's own budget), or several joined by commas to
#    run one after another (benchmarks/omniglot.py configurations). Default, the first lease's plan: maml-20w1s-q15:330,
#    maml-5w1s:150,maml-5w5s:110 and reptile-5w1s:170. Each run is compiled
#    with CUDA graphs (falling back by itself), trained for its budget and
#    tested on 600 tasks; every lane shortens its training so that its test
#    ends TOTAL seconds (560) after the script starts.
#
# COMPILE_MODE picks the torch.compile mode (default reduce-overhead; 0: eager).
# Every job writes its log to LOG_DIR (default: a new temporary folder, named at
# the start; never inside the checkout) and its JSON line to
# LOG_DIR/omniglot.jsonl; the summary at the end prints them. The exit status is
# 0 when every job ran and 1 when one failed (named in LOG_DIR/failed).
set -uo pipefail
DEADLINE=$(( $(date +%s) + ${TOTAL:-560} ))
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
LOG_DIR="${LOG_DIR:-$(mktemp -d -t automl-meta-gpu.XXXXXX)}"
mkdir -p "$LOG_DIR"
echo "logs: $LOG_DIR"
: > "$LOG_DIR/failed"
COMPILE=(--compile "${COMPILE_MODE:-reduce-overhead}")
[ "${COMPILE_MODE:-}" = "0" ] && COMPILE=()
LANES=("$@")
[ ${#LANES[@]} -eq 0 ] && LANES=(maml-20w1s-q15:330 maml-5w1s:150,maml-5w5s:110 reptile-5w1s:170)
if [ "${SMOKE:-0}" = "1" ]; then
  DEV=(--device cpu) ; SMALL=(--tasks 8 --meta-batch 2) ; SECONDS_SIDE=2 COMPILE=() ; SMOKE_SECONDS=5
  export OMP_NUM_THREADS=1
else
  DEV=(--device cuda) ; SMALL=() ; SECONDS_SIDE="${SECONDS_SIDE:-6}" ; SMOKE_SECONDS=
  if ! "$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "no CUDA device visible; run with SMOKE=1 for a CPU check" >&2
    exit 1
  fi
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader || true
  "$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
fi

if [ "${THROUGHPUT:-1}" != "0" ]; then
  echo "== throughput, alone on the device ($(date +%T))"
  "$PYTHON" benchmarks/maml_throughput.py "${DEV[@]}" --meta-batch 32 --seconds "$SECONDS_SIDE" \
    "${COMPILE[@]}" --json > "$LOG_DIR/throughput.json" 2> "$LOG_DIR/throughput.log" || echo throughput >> "$LOG_DIR/failed"
  cat "$LOG_DIR/throughput.json"
fi

echo "== Omniglot, ${#LANES[@]} lane(s) side by side ($(date +%T))"
omniglot() {  # name [seconds]
  local budget="${SMOKE_SECONDS:-${2:-}}"
  "$PYTHON" benchmarks/omniglot.py "$1" ${budget:+--seconds "$budget"} --deadline "$DEADLINE" "${DEV[@]}" "${SMALL[@]}" "${COMPILE[@]}" --json \
    >> "$LOG_DIR/omniglot.jsonl" 2> "$LOG_DIR/$1.log" || { echo "$1 failed: see $1.log" >&2; echo "$1" >> "$LOG_DIR/failed"; }
}
lane() {  # CONFIG[:SECONDS][,CONFIG[:SECONDS]...]
  local run
  for run in ${1//,/ }; do
    if [[ "$run" == *:* ]]; then omniglot "${run%%:*}" "${run##*:}"; else omniglot "$run"; fi
  done
}
: > "$LOG_DIR/omniglot.jsonl"
for spec in "${LANES[@]}"; do
  lane "$spec" &
done
wait
echo "== done ($(date +%T))"
cat "$LOG_DIR/omniglot.jsonl"
grep -h -i -E "failed|error|skipping cudagraphs" "$LOG_DIR"/*.log | cut -c1-400 | head -20 || true  # no match is no failure
if [ -s "$LOG_DIR/failed" ]; then
  echo "failed: $(tr '\n' ' ' < "$LOG_DIR/failed")" >&2
  exit 1
fi
exit 0
