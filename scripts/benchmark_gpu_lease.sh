#!/usr/bin/env bash
# Every GPU check of one short lease (about 15 minutes of device time): the hardware-decoding test, the training
# input pipeline on all of the machine's cores with software and with NVDEC decoding, then the model benchmark's
# follow-up plan against transformers' port. Results land in $OUT (default: outputs/). Run it from the repository
# root on the GPU machine:
#
#   bash scripts/benchmark_gpu_lease.sh            # about 9 minutes; give the machine back afterwards
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

timeout 60 python3 -m pytest -q -p no:cacheprovider tests/test_video_decoding.py -k hardware
timeout 100 python3 scripts/benchmark_input_pipeline.py --workers "$(nproc)" --videos 2 --clips 512 \
  --output "$OUT/input_pipeline.json"
timeout 100 python3 scripts/benchmark_input_pipeline.py --workers "$(nproc)" --videos 2 --clips 512 --hwaccel cuda \
  --output "$OUT/input_pipeline_nvdec.json"
timeout 420 python3 scripts/benchmark_model.py --plan followup --time-budget 300 \
  --output "$OUT/model.json" --markdown "$OUT/model_table.md"
