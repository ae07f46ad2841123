#!/usr/bin/env bash
# Every GPU check of one short lease (about 15 minutes of device time), in two parts that each fit one device call
# (10 minutes at most); results land in $OUT (default: outputs/). From the repository root on the GPU machine:
#
#   bash scripts/benchmark_gpu_lease.sh model    # ~6 min: benchmark_model.py's follow-up plan against transformers
#   bash scripts/benchmark_gpu_lease.sh checks   # ~5 min: the CUDA-only tests, the input pipeline on all cores
#                                                #   with software decoding (source and prepared videos), the
#                                                #   4 x 3 test views, NVDEC; each batch finished on the GPU
#
# `model` first: its figures decide the zero-shot targets, and the machine's start-up also counts against the lease.
#
# The device image has torch, transformers, accelerate and peft but not PyAV, ftfy, open_clip_torch (the CLIP
# vocabulary) or the training extras' evaluate and datasets: download their wheels into .wheels/ here first (see
# BENCHMARKS.md, "Running the GPU benchmarks") and carry that folder with the call.
set -uo pipefail
part=${1:-}
if [[ "$part" != checks && "$part" != model ]]; then echo "usage: $0 checks|model" >&2; exit 2; fi
OUT=${OUT:-outputs}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD"
if compgen -G ".wheels/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .wheels/*.whl
  export PYTHONPATH="$PWD:/tmp/site"
fi
python3 -c "import xclip" || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu --format=csv

case "$part" in
  checks)
    # The modules holding CUDA-only tests (collecting every test module would need packages the image lacks).
    timeout 150 python3 -m pytest -q -p no:cacheprovider -m gpu tests/test_training_gpu.py tests/test_transforms.py \
      tests/test_video_decoding.py tests/test_video_processor.py tests/test_data_dataset.py 2>&1 | tail -15
    timeout 100 python3 scripts/benchmark_input_pipeline.py --workers "$(nproc)" --videos 2 --clips 512 \
      --output "$OUT/input_pipeline.json"
    timeout 100 python3 scripts/benchmark_input_pipeline.py --workers "$(nproc)" --videos 2 --clips 512 --prepare \
      --output "$OUT/input_pipeline_prepared.json"
    timeout 100 python3 scripts/benchmark_input_pipeline.py --workers "$(nproc)" --videos 2 --clips 256 --prepare \
      --views 4x3 --output "$OUT/eval_pipeline_prepared_4x3.json"
    timeout 100 python3 scripts/benchmark_input_pipeline.py --workers "$(nproc)" --videos 2 --clips 512 \
      --hwaccel cuda --output "$OUT/input_pipeline_nvdec.json"
    ;;
  model)
    timeout 420 python3 scripts/benchmark_model.py --plan followup --time-budget 300 \
      --output "$OUT/model.json" --markdown "$OUT/model_table.md"
    ;;
esac
