"""The ``dry-run`` backend: trains nothing, answers nothing, so evaluation says "not measured"."""

from __future__ import annotations

from collections.abc import Sequence

from deepeyes_core import NoOptions, TrainingRun


class DryRunBackend:
    """Trains nothing; use it to check the data. Evaluation reports "not measured"."""

    name = "dry-run"
    Options = NoOptions

    def __init__(self, options: NoOptions):
        self.options = options

    async def train(self, train, val, settings, workdir, progress=None) -> TrainingRun:
        return TrainingRun(
            backend=self.name,
            trained=False,
            reason="the dry-run backend trains nothing; choose a training backend (e.g. trl) to train",
        )

    async def generate(self, model, prompts: Sequence[str]) -> None:
        return None
