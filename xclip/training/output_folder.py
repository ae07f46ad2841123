"""What a training run keeps in its output folder (`OUTPUT`), and when a new run may replace or continue it.

A run refuses a folder holding another run unless told to resume it (`--resume`, `TRAIN.AUTO_RESUME`) or replace it
(`--overwrite_output`); a resumed run must continue the folder's latest checkpoint; an evaluation (`--only_test`)
never replaces a training run's files unless told to; and nothing is deleted or written before the run's inputs have
been checked (`start_output_folder`).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

from accelerate import Accelerator

from ..files import write_text_atomically
from ..model_source import BEST_MODEL_FOLDER
from .checkpointing import CHECKPOINT_CONFIG_FILE, TRAINER_STATE_FILE, latest_checkpoint
from .config import ConfigError, ExperimentConfig, load_config
from .reporting import METRICS_FILE, STEP_LOG

__all__ = [
    "RUN_CONFIG",
    "RUN_OUTPUTS",
    "check_config_file_is_kept",
    "check_keeps_the_model",
    "earlier_run_outputs",
    "evaluation_replaces",
    "interrupt_advice",
    "resume_folder",
    "run_config_of",
    "run_outputs",
    "start_output_folder",
]

logger = logging.getLogger(__name__)

# The full config a run writes into OUTPUT.
RUN_CONFIG = "config.yaml"
# What a training run leaves in OUTPUT that a later run would replace or, for checkpoints, mix with its own.
RUN_OUTPUTS = ("checkpoints", BEST_MODEL_FOLDER, METRICS_FILE, STEP_LOG)


def check_config_file_is_kept(config_file: Path, config: ExperimentConfig) -> None:
    """Refuses, before anything is written, a `-cfg` that is the `OUTPUT/config.yaml` this run would replace with its
    expanded config, losing the file's comments and `BASE:` includes. A file a run wrote there itself (a plain dump,
    e.g. to resume with `-cfg OUTPUT/config.yaml`) loses nothing by being rewritten, so it is accepted.

    Raises:
        ConfigError: naming the file, with another `--output` or a copy of the config as the way out.
    """
    target = Path(config.OUTPUT) / RUN_CONFIG
    try:
        # samefile: a relative path, `./`, `..` or a symbolic link to it is the same file.
        if not (target.is_file() and config_file.samefile(target)):
            return
        if config_file.read_text(encoding="utf-8") == load_config(config_file).to_yaml():
            return
    except OSError:
        return  # load_config has read config_file; a target that cannot be compared is not config_file
    raise ConfigError(
        f"-cfg {config_file} is {target}, where this run writes its expanded config: your file (its comments and "
        f"BASE includes) would be replaced. Copy it elsewhere (e.g. cp {config_file} my_config.yaml, then -cfg "
        "my_config.yaml) or choose another --output."
    )


def run_outputs(output_dir: Path) -> list[str]:
    """The `RUN_OUTPUTS` that `output_dir` holds. A step log without a step, or a checkpoints folder without a
    checkpoint (empty, or holding only the hidden partial save of a run killed while saving), is what a run that
    failed before its first step or checkpoint leaves: it holds nothing to keep, so a retry in the same folder must not
    be refused for it (the new run rewrites that empty log)."""
    found = []
    for name in RUN_OUTPUTS:
        path = output_dir / name
        if name == STEP_LOG and path.is_file():
            with path.open("rb") as file:
                if not any(line.strip() for line in file):
                    continue
        elif name == "checkpoints" and path.is_dir() and all(entry.name.startswith(".") for entry in path.iterdir()):
            continue
        if path.exists():
            found.append(name)
    return found


def resume_folder(config: ExperimentConfig, output_dir: Path, training: bool = False) -> Path | None:
    """`MODEL.RESUME` (a checkpoint, or an output folder whose latest checkpoint is taken), else the latest checkpoint
    in `OUTPUT` when `TRAIN.AUTO_RESUME`, else None.

    With `training`, `--resume OUTPUT` of an `OUTPUT` that holds no run yet (one that failed before its first step)
    also gives None: starting from the beginning is then what resuming it means."""
    if config.MODEL.RESUME:
        requested = Path(config.MODEL.RESUME)
        found = requested if (requested / TRAINER_STATE_FILE).is_file() else latest_checkpoint(requested)
        if found is None and training and _same_folder(requested, output_dir) and not run_outputs(output_dir):
            logger.warning("--resume %s: it holds no checkpoint and no training step yet; training from the start",
                           requested)
            return None
        if found is None:
            raise FileNotFoundError(
                f"--resume {requested}: neither a checkpoint folder (with trainer_state.json) nor an output folder "
                "with complete checkpoints under checkpoints/."
            )
        return found
    if config.TRAIN.AUTO_RESUME:
        return latest_checkpoint(output_dir)
    return None


def earlier_run_outputs(config: ExperimentConfig, resumed: Path | None) -> list[str]:
    """What an earlier training run left in `OUTPUT` that this one is to replace (`OVERWRITE_OUTPUT`); none when
    this run resumes it (from `resumed`, the checkpoint `resume_folder` found).

    Raises:
        ConfigError: `OUTPUT` holds an earlier run and `OVERWRITE_OUTPUT` is off: a new run would replace its best
            model and leave its checkpoints beside the new ones, for `--resume` to pick up by mistake.
    """
    output_dir = Path(config.OUTPUT)
    earlier = run_outputs(output_dir)
    if earlier and config.MODEL.RESUME:
        check_resumes_the_run_in(output_dir, config, earlier, resumed)
    if not earlier or config.MODEL.RESUME or config.TRAIN.AUTO_RESUME:
        return []
    if not config.OVERWRITE_OUTPUT:
        raise ConfigError(
            f"{output_dir} already holds a training run ({', '.join(earlier)}). Pass --resume {output_dir} to "
            "continue it, --overwrite_output to replace it, or choose another --output."
        )
    check_keeps_the_model(config, earlier)
    return earlier


def check_resumes_the_run_in(
    output_dir: Path, config: ExperimentConfig, earlier: Sequence[str], resumed: Path | None
) -> None:
    """A run resumed into an `OUTPUT` that holds checkpoints must continue from the latest of them. Another run's
    checkpoint, or an earlier epoch of this one, would write new checkpoints beside the later ones (which
    `--resume OUTPUT` and the pruning would then take for the newest), and mix two runs' step logs and best models.

    Raises:
        ConfigError: `OUTPUT` holds checkpoints and the resumed one is not the latest.
    """
    latest = latest_checkpoint(output_dir)
    if latest is None:  # nothing saved yet (a resumed run interrupted before its first checkpoint): resume again
        return
    if resumed is not None and _same_folder(resumed, latest):
        return
    raise ConfigError(
        f"--resume {config.MODEL.RESUME}: {output_dir} holds a training run ({', '.join(earlier)}) whose latest "
        f"checkpoint is {latest}, which this checkpoint does not continue; the two would mix their checkpoints, "
        f"logs and best models. Resume into a new --output, or continue that run with --resume {output_dir}."
    )


def run_config_of(checkpoint: Path) -> ExperimentConfig | None:
    """The config of the run that saved `checkpoint`, or None for a checkpoint saved without one (by an older
    xclip)."""
    try:
        return load_config(checkpoint / CHECKPOINT_CONFIG_FILE)
    except (OSError, ConfigError):
        return None


def start_output_folder(accelerator: Accelerator, config: ExperimentConfig, replaced: Sequence[str] = ()) -> None:
    """Once the run's inputs are checked: delete `replaced` (an earlier run's outputs) and write `OUTPUT/config.yaml`.
    A run refused for bad input leaves the folder as it was."""
    output_dir = Path(config.OUTPUT)
    if accelerator.is_main_process:
        if replaced:
            logger.warning("--overwrite_output: deleting the earlier run's %s in %s", ", ".join(replaced), output_dir)
        for name in replaced:
            path = output_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        output_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomically(output_dir / RUN_CONFIG, config.to_yaml())
    accelerator.wait_for_everyone()


def evaluation_replaces(config: ExperimentConfig) -> list[str]:
    """The training run's outputs in `OUTPUT` that an evaluation (`--only_test`) is to replace (`OVERWRITE_OUTPUT`).

    Raises:
        ConfigError: `OUTPUT` holds a training run and `OVERWRITE_OUTPUT` is off: the evaluation would replace its
            `metrics.json` (its history) and `config.yaml`.
    """
    output_dir = Path(config.OUTPUT)
    training_outputs = [name for name in run_outputs(output_dir) if name != METRICS_FILE]
    if training_outputs and not config.OVERWRITE_OUTPUT:
        raise ConfigError(
            f"{output_dir} holds a training run ({', '.join(training_outputs)}), whose {METRICS_FILE} and "
            f"{RUN_CONFIG} an evaluation would replace. Write the evaluation elsewhere, e.g. --output "
            f"{output_dir / 'test'}, or pass --overwrite_output to replace the run."
        )
    check_keeps_the_model(config, training_outputs)
    return training_outputs


def check_keeps_the_model(config: ExperimentConfig, replaced: Sequence[str]) -> None:
    """Refuses to replace an earlier run's outputs when the weights this run loads (`MODEL.PRETRAINED`, e.g. the
    earlier run's `best_model`, or the `MODEL.RESUME` checkpoint an evaluation reads) are among them:
    `--overwrite_output` would delete the model the new results describe.

    Raises:
        ConfigError: naming the model and the output it lies in.
    """
    for loaded in (config.MODEL.PRETRAINED, config.MODEL.RESUME):
        if not loaded or not Path(loaded).expanduser().exists():
            continue  # unset, a Hub id, or a path checked where it is loaded
        model = Path(loaded).expanduser().resolve()
        for name in replaced:
            output = (Path(config.OUTPUT) / name).resolve()
            if model == output or output in model.parents or model in output.parents:
                raise ConfigError(
                    f"The model this run loads, {loaded}, is in {Path(config.OUTPUT) / name}, which --overwrite_output "
                    "would delete, leaving results of a model that no longer exists. Choose another --output, or copy "
                    "the model elsewhere first."
                )


def interrupt_advice(output_dir: Path) -> str:
    """How to go on after a training run in `output_dir` was interrupted."""
    latest = latest_checkpoint(output_dir)
    if latest is not None:
        return f"Continue from {latest} with --resume {output_dir}."
    if run_outputs(output_dir):
        return "No checkpoint was saved: start over with the same command and --overwrite_output."
    return "No checkpoint was saved: run the same command again to start over."


def _same_folder(first: Path, second: Path) -> bool:
    try:
        return first.samefile(second)
    except OSError:  # one of them does not exist
        return first.resolve() == second.resolve()
