#!/usr/bin/env bash
# The neural commands of the CLI, end to end on one device, with tiny budgets: a check that every
# path the test suite runs on CPU also runs on a GPU (training, checkpoints, evaluation, the other
# device). Prints one line per command with its exit status, then the commands' output.
#
#   DEVICE=cuda AUTOML_META_OMNIGLOT=DIR benchmarks/gpu_cli_smoke.sh   # on a GPU machine (~3 min on a fresh one)
#   DEVICE=cpu AUTOML_META_OMNIGLOT=../shared/omniglot benchmarks/gpu_cli_smoke.sh   # the same on CPU
#
# The CLI needs typer >= 0.16 (with its pydantic) and platformdirs; where the machine lacks them, put
# their wheels on PYTHONPATH first. A source tree that was never installed is laid out as pyproject maps it.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo "$PWD/.venv/bin/python" || echo python3 )}"
export PYTHONUNBUFFERED=1
DEVICE="${DEVICE:-cuda}"
OMNIGLOT="${AUTOML_META_OMNIGLOT:?set AUTOML_META_OMNIGLOT to the Omniglot npz folder}"
WORK="$(mktemp -d)"
if ! (cd "$WORK" && "$PYTHON" -c 'import automl_meta.cli' 2>/dev/null); then
  # a source tree never installed (a GPU machine): lay the package out as pyproject maps it, cli/ and meta_db/ inside
  mkdir -p "$WORK/src/automl_meta"
  ln -s "$PWD"/automl_meta/* "$WORK/src/automl_meta/"
  ln -s "$PWD/cli" "$WORK/src/automl_meta/cli"
  ln -s "$PWD/meta_db" "$WORK/src/automl_meta/meta_db"
  export PYTHONPATH="$WORK/src${PYTHONPATH:+:$PYTHONPATH}"
fi
LOG="${LOG_FILE:-$WORK/log}"  # LOG_FILE=$OUT/smoke_commands.log keeps the output when a time limit stops the script
failures=0

am() {  # label, then the command's arguments
  local label="$1" start rc
  shift
  start=$(date +%s%N)
  { echo "== $label: automl-meta $*"; (cd "$WORK" && "$PYTHON" -m automl_meta "$@"); } >> "$LOG" 2>&1  # not the source tree's package
  rc=$?
  printf '%-36s rc=%s %6d ms\n' "$label" "$rc" $(( ($(date +%s%N) - start) / 1000000 ))
  [ "$rc" = 0 ] || failures=$((failures + 1))
}

"$PYTHON" - "$WORK/table.csv" "$WORK/new_task.csv" <<'EOF'
import sys
import numpy as np
rng = np.random.default_rng(0)
classes = np.repeat(np.arange(12), 30)
X = rng.normal(size=(classes.size, 6)) + classes[:, None] * 0.3
for path, keep in ((sys.argv[1], classes >= 0), (sys.argv[2], classes >= 9)):  # all 12 classes; a 3-way task
    with open(path, "w") as f:
        f.write(",".join(f"x{i}" for i in range(6)) + ",target\n")
        for row, c in zip(X[keep], classes[keep]):
            f.write(",".join(f"{v:.4f}" for v in row) + f",c{c}\n")
EOF

D=(--device "$DEVICE")
am "sinusoid maml train" meta-train sinusoid --iterations 40 --meta-batch 8 --validate-every 20 --validation-tasks 8 \
  "${D[@]}" --plot "$WORK/sin.png" --out "$WORK/sin.pt" --json
am "sinusoid maml eval" meta-eval "$WORK/sin.pt" --tasks 50 --steps 10 "${D[@]}" --json
am "sinusoid maml eval on cpu" meta-eval "$WORK/sin.pt" --tasks 50 --steps 10 --device cpu --json
am "omniglot maml 5w1s train" meta-train omniglot --data "$OMNIGLOT" --ways 5 --shots 1 --meta-batch 4 --iterations 20 \
  --validate-every 10 --validation-tasks 4 "${D[@]}" --out "$WORK/maml.pt" --json
am "omniglot maml 5w1s eval" meta-eval "$WORK/maml.pt" --data "$OMNIGLOT" --tasks 20 "${D[@]}" --json
am "omniglot fomaml meta-sgd support-bn" meta-train omniglot --data "$OMNIGLOT" --algo fomaml --meta-sgd --bn support \
  --ways 5 --shots 1 --meta-batch 4 --iterations 20 --validate-every 0 --validation-tasks 4 "${D[@]}" --out "$WORK/fo.pt" --json
am "omniglot fomaml eval" meta-eval "$WORK/fo.pt" --data "$OMNIGLOT" --tasks 20 "${D[@]}" --json
am "omniglot reptile adam train" meta-train omniglot --data "$OMNIGLOT" --algo reptile --inner-optimizer adam --inner-steps 5 \
  --inner-batch 10 --train-queries 9 --meta-batch 5 --iterations 20 --validate-every 0 --validation-tasks 4 "${D[@]}" \
  --out "$WORK/reptile.pt" --json
am "omniglot reptile eval" meta-eval "$WORK/reptile.pt" --data "$OMNIGLOT" --tasks 20 --steps 10 "${D[@]}" --json
am "omniglot reptile eval on cpu" meta-eval "$WORK/reptile.pt" --data "$OMNIGLOT" --tasks 20 --steps 10 --device cpu --json
am "tabular maml train" meta-train tabular --data "$WORK/table.csv" --ways 3 --shots 2 --meta-batch 4 --iterations 20 \
  --validate-every 10 --validation-tasks 4 "${D[@]}" --out "$WORK/tab.pt" --json
am "tabular maml eval" meta-eval "$WORK/tab.pt" --data "$WORK/table.csv" --tasks 20 "${D[@]}" --json
am "tabular finetune" finetune "$WORK/new_task.csv" --init "$WORK/tab.pt" --shots 2 --steps 5 --repeats 3 "${D[@]}" --json
am "omniglot maml compiled train" meta-train omniglot --data "$OMNIGLOT" --ways 5 --shots 1 --meta-batch 4 --iterations 20 \
  --validate-every 0 --validation-tasks 4 --compile "${D[@]}" --out "$WORK/compiled.pt" --json

echo "== $failures failed; the commands' output:"
cut -c1-400 "$LOG"
rm -rf "$WORK"
exit $((failures > 0))
