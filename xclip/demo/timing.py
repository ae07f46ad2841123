"""Named stages of a long job: a log line when each starts and ends, with its duration and the total so far."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

__all__ = ["StageTimer"]

logger = logging.getLogger(__name__)


class StageTimer:
    """Times the stages of a run; `durations` maps each finished stage to its seconds, in order.

    Example:

    ```python
    timer = StageTimer()
    with timer.stage("Generating videos"):
        ...
    timer.total  # seconds since the timer was made
    ```
    """

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.durations: dict[str, float] = {}

    @property
    def total(self) -> float:
        return time.perf_counter() - self.started

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        number = len(self.durations) + 1
        logger.info("[%d] %s ...", number, name)
        began = time.perf_counter()
        yield
        self.durations[name] = time.perf_counter() - began
        logger.info("[%d] %s: done in %.1f s (%.1f s so far)", number, name, self.durations[name], self.total)
