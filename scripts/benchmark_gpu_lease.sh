#!/usr/bin/env bash
# Every GPU measurement of one short lease (about 15 minutes of device time), most important first: the training
# input pipeline on all of the machine's cores, then the model benchmark's follow-up plan against transformers'
# port. Results land in $OUT (default: outputs/). Run it from the repository root on the GPU machine:
#
#   bash scripts/benchmark_gpu_lease.sh            # about 8 minutes; give the machine back afterwards
#
# The device image has torch, transformers and accelerate but not PyAV or ftfy: download their wheels into .wheels/
# here first (see BENCHMARKS.md, "Running the GPU benchmarks") and carry that folder with the call.
set -uo pipefail
OUT=${OUT:-outputs}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD"
if compgen -G ".wheels/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .wheels/*.whl
  export PYTHONPATH="$PWD:/tmp/site"
fi
python3 -c "import xclip" || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu --format=csv

timeout 150 python3 scripts/benchmark_input_pipeline.py --workers "$(nproc)" --videos 2 --clips 512 \
  --output "$OUT/input_pipeline.json"
timeout 420 python3 scripts/benchmark_model.py --plan followup --time-budget 300 \
  --output "$OUT/model.json" --markdown "$OUT/model_table.md"
