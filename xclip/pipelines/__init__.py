"""X-CLIP in transformers' `pipeline()`: zero-shot video classification, and video classification for X-CLIP
classifiers.

After `register_pipelines()` (which `import xclip` calls):

- `pipeline("zero-shot-video-classification", model=...)` takes videos and `candidate_labels` and returns sorted
  `{"label", "score"}` lists (`ZeroShotVideoClassificationPipeline`);
- `pipeline("video-classification", model=...)` also runs saved `XCLIPForVideoClassification` folders and X-CLIP
  folders whose config names their classes, such as a training run's `best_model`
  (`XCLIPVideoClassificationPipeline`, which leaves other models to transformers' implementation).
"""


from transformers import AutoModel
from transformers.pipelines import PIPELINE_REGISTRY

from .video_classification import XCLIPVideoClassificationPipeline
from .zero_shot_video_classification import ZeroShotVideoClassificationPipeline

__all__ = [
    "VIDEO_CLASSIFICATION_TASK",
    "XCLIPVideoClassificationPipeline",
    "ZERO_SHOT_VIDEO_CLASSIFICATION_TASK",
    "ZeroShotVideoClassificationPipeline",
    "register_pipelines",
]

ZERO_SHOT_VIDEO_CLASSIFICATION_TASK = "zero-shot-video-classification"
VIDEO_CLASSIFICATION_TASK = "video-classification"


def register_pipelines() -> None:
    """Register the X-CLIP pipelines with transformers' pipeline registry; calling it again changes nothing.

    `import xclip` calls it, after registering the tokenizer and video processor that `pipeline()` loads a model
    folder's components with.
    """
    tasks = PIPELINE_REGISTRY.supported_tasks
    if tasks.get(ZERO_SHOT_VIDEO_CLASSIFICATION_TASK, {}).get("impl") is not ZeroShotVideoClassificationPipeline:
        PIPELINE_REGISTRY.register_pipeline(
            ZERO_SHOT_VIDEO_CLASSIFICATION_TASK,
            pipeline_class=ZeroShotVideoClassificationPipeline,
            pt_model=AutoModel,
            type="multimodal",
        )
    # Only the implementation changes (transformers' default model and model classes stay); `register_pipeline`
    # would also log an "overwriting" warning at every import.
    tasks[VIDEO_CLASSIFICATION_TASK] = {**tasks[VIDEO_CLASSIFICATION_TASK], "impl": XCLIPVideoClassificationPipeline}
