"""The ``trl`` training backend: real weight-level SFT of an open-weight causal LM with TRL."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from deepeyes_core import (
    MissingExtraError,
    ModelRole,
    TrainingExample,
    TrainingRun,
    TrainingSettings,
    hookimpl,
)

from .engine import TrlSettings

_NEEDS = ("torch", "transformers", "trl", "peft")


class TrlBackend:
    """Trains a local causal LM with TRL (LoRA or full); model "tiny" trains a small one from scratch.

    The guide's trainer settings (epochs, learning_rate, batch_size, seed) override the options of
    the same name; the other options (model, method, max_length, ...) are this backend's own.
    The base model for evaluation is the model before training (for "tiny": its random init).
    """

    name = "trl"
    Options = TrlSettings

    def __init__(self, options: TrlSettings):
        self.options = options
        self._models: dict[str, Path] = {}

    def _settings(self, settings: TrainingSettings) -> TrlSettings:
        for module in _NEEDS:
            if importlib.util.find_spec(module) is None:
                raise MissingExtraError("training backend 'trl'", "trl", module)
        return attrs.evolve(
            self.options,
            epochs=settings.epochs,
            learning_rate=settings.learning_rate,
            batch_size=settings.batch_size,
            seed=settings.seed,
        )

    async def train(
        self,
        train: Sequence[TrainingExample],
        val: Sequence[TrainingExample],
        settings: TrainingSettings,
        workdir: Path,
        progress: Callable[[int, int], None] | None = None,
    ) -> TrainingRun:
        from . import engine

        self.options = self._settings(settings)
        layout = settings.prompt_layout
        train_pairs = [(e.prompt(layout), e.completion()) for e in train]
        val_pairs = [(e.prompt(layout), e.completion()) for e in val]
        outcome = await asyncio.to_thread(engine.train, train_pairs, val_pairs, self.options, workdir, progress)
        self._models = {"base": outcome.base_model_dir, "trained": outcome.trained_model_dir}
        return TrainingRun(
            backend=self.name,
            trained=True,
            epochs=tuple(outcome.epochs),
            total_steps=outcome.total_steps,
            total_tokens=outcome.total_tokens,
            wall_time_s=outcome.wall_time_s,
            artifact=str(outcome.trained_model_dir),
            device=outcome.device,
            library_versions=outcome.library_versions,
            extra={"model": self.options.model, "method": "full" if self.options.model == "tiny" else self.options.method},
        )

    async def generate(self, model: ModelRole, prompts: Sequence[str]) -> list[str] | None:
        if model not in self._models:
            return None
        from . import engine

        return await asyncio.to_thread(engine.generate, self._models[model], list(prompts), self.options)


@hookimpl
def deepeyes_training_backends():
    return [TrlBackend]
