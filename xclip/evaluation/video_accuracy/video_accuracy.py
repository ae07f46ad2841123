"""`video_accuracy`: the `evaluate` metric of X-CLIP video recognition (top-1, top-5 and mean-class accuracy).

Load it offline from this folder with `xclip.evaluation.load_video_accuracy()` or
`evaluate.load("<path to this folder>")`; the computation is `xclip.evaluation.accuracy.compute_video_accuracy`.
"""

# One module per import statement: evaluate scans this file's imports to check its dependencies.
import datasets
import evaluate

from xclip.evaluation.accuracy import compute_video_accuracy
from xclip.model_cards import XCLIP_CITATION


_DESCRIPTION = """
Video-level accuracy of a video classifier, in percent, as reported by X-CLIP (ECCV 2022): top-1 and top-5 accuracy
over videos, the mean over classes of the per-class top-1 accuracy, and the per-class accuracy. Predictions are class
scores per video (for multi-view testing, the per-view softmax probabilities summed over views); ties between scores
are broken towards the lower class index.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `float`): `(N, K)` class scores per video.
    references (`list` of `int`): `(N,)` true class indices in `[0, K)`.
    num_classes (`int`, *optional*): Expected number of classes `K`, checked against the predictions.
Returns:
    top1 (`float`): Top-1 accuracy in percent.
    top5 (`float`): Top-5 accuracy in percent (all classes count when `K < 5`).
    mean_class_accuracy (`float`): Mean over classes with videos of the per-class top-1 accuracy, in percent.
    per_class_accuracy (`list`): `(K,)` per-class top-1 accuracy in percent, `None` for a class without videos.
    class_counts (`list` of `int`): `(K,)` videos per class.
    num_videos (`int`): `N`.
Examples:
    >>> metric = evaluate.load("xclip/evaluation/video_accuracy")
    >>> result = metric.compute(predictions=[[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]], references=[1, 2])
    >>> result["top1"], result["mean_class_accuracy"]
    (50.0, 50.0)
"""

_CITATION = XCLIP_CITATION


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class VideoAccuracy(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Sequence(datasets.Value("float64")), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references, num_classes=None):
        return compute_video_accuracy(predictions, references, num_classes=num_classes)
