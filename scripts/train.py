"""Fine-tune X-CLIP (ECCV 2022) with the original recipe, or evaluate it, on a CPU, one GPU, or many GPUs and nodes.

The flags and YAML keys are the original X-CLIP's (`-cfg`, `--opts KEY VALUE ...`, `--pretrained`, `--resume`,
`--only_test`, `--batch-size`, `--accumulation-steps`; `DATA.*`, `MODEL.*`, `TRAIN.*`, `AUG.*`, `TEST.*`), so its
configs run unchanged; `configs/` mirrors them and adds few-shot and zero-shot ones. Everything runs through
Accelerate: no apex, mmcv or distributed launcher code. `--batch-size` is per process, as in the original.

One process (CPU, or one GPU):

    python scripts/train.py -cfg configs/k400/32_8.yaml --output runs/k400_32_8 --pretrained ViT-B-32.pt

One node with 8 GPUs (the original's setting: 8 x 8 videos x 4 accumulation steps = 256 per step):

    accelerate launch --multi_gpu --num_processes 8 scripts/train.py -cfg configs/k400/32_8.yaml \
        --output runs/k400_32_8 --pretrained openai/clip-vit-base-patch32

Two nodes with 8 GPUs each (run on both, with --machine_rank 0 and 1):

    accelerate launch --multi_gpu --num_machines 2 --num_processes 16 --machine_rank 0 \
        --main_process_ip 10.0.0.1 --main_process_port 29500 scripts/train.py -cfg configs/k400/16_8.yaml ...

Several processes on CPUs only (DDP over gloo; `accelerate launch --cpu` needs MPI for that, torchrun does not):

    torchrun --standalone --nproc_per_node 2 scripts/train.py --cpu -cfg configs/tiny/motion.yaml --output runs/ddp ...

FSDP or DeepSpeed: describe them once with `accelerate config` (FSDP: set `use_orig_params: true`, the optimizer groups
are built from parameter names), then `accelerate launch --config_file my_fsdp.yaml scripts/train.py ...`.

Few-shot (K videos per class drawn from the full training list, written to the output folder), zero-shot evaluation
(no training; mean and std over the protocol's splits), the original's 4-clip x 3-crop test, resuming:

    python scripts/train.py -cfg configs/few_shot/hmdb51_2shot.yaml --output runs/hmdb_2shot --pretrained ViT-B-16.pt
    python scripts/train.py -cfg configs/zero_shot/hmdb51.yaml --output runs/zs_hmdb \
        --pretrained runs/k400_16_32/best_model
    python scripts/train.py -cfg configs/k400/32_8.yaml --output runs/test_4x3 --only_test \
        --pretrained runs/k400_32_8/best_model --opts TEST.NUM_CLIP 4 TEST.NUM_CROP 3
    python scripts/train.py -cfg configs/k400/32_8.yaml --output runs/k400_32_8 --resume runs/k400_32_8

A CPU smoke run on a synthetic task that only motion solves (a tiny random model, about a minute on 2 cores):

    python -c "from xclip.training import make_motion_dataset as m; m('toy', 32); m('toy', 8, split='val', seed=1)"
    python scripts/train.py -cfg configs/tiny/motion.yaml --output runs/tiny --opts DATA.ROOT toy \
        DATA.TRAIN_FILE toy/train.txt DATA.VAL_FILE toy/val.txt DATA.LABEL_LIST toy/labels.csv

The output folder gets `checkpoints/epoch_N` (full training state, the last SAVE_TOTAL_LIMIT kept), `best_model/`
(a transformers folder: weights, processor, model card, class names), `metrics.json`, per-class accuracy CSVs and
confusion matrices, `loss_curve.png`, `accuracy.png`, `train_steps.jsonl`, `log.txt` and TensorBoard logs.
This script is `xclip train`: the loop is `xclip.training.main`, and bad input (a config key, a file, an output
folder holding another run) ends with one `error:` line and exit status 1.
"""

import sys

from xclip.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
