"""The ``trl`` training backend: real weight-level SFT of an open-weight causal LM with TRL."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from deepeyes_core import (
    CHAT_SYSTEM_PROMPT,
    ConfigError,
    MissingExtraError,
    ModelRole,
    Sampling,
    StepPrompt,
    ToolCall,
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

    It trains on each example's whole trajectory as a multi-turn conversation (the request, each
    step's calls, each call's real result, the final answer), loss on the assistant turns only
    (see :mod:`deepeyes_trl.engine` and :mod:`deepeyes_trl.chats`). The prompt layout decides
    whether the tools are rendered: "catalogue" renders them, "task" (and "guide") do not.

    ``generate_steps`` (step-level evaluation) renders each step's history with the chat template
    and parses the calls of the generated turn. ``generate`` (the blind-sequence score) asks with
    the layout's prompt text as the user's turn and returns the calls of the answer, which is one
    assistant turn, in the guide's numbered layout (the raw text where it made no call): a model
    trained on conversations makes its first step and waits for the results, so on multi-step
    tasks the blind score measures what it does without them.
    """

    name = "trl"
    Options = TrlSettings

    def __init__(self, options: TrlSettings):
        self.options = options
        self._models: dict[str, Path] = {}
        self._with_tools = False

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

        from .chats import example_chat

        self.options = self._settings(settings)
        self._with_tools = settings.prompt_layout == "catalogue"
        train_chats = [example_chat(e, self._with_tools) for e in train]
        val_chats = [example_chat(e, self._with_tools) for e in val]
        outcome = await asyncio.to_thread(engine.train, train_chats, val_chats, self.options, workdir, progress)
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
            extra={"model": self.options.model, "method": "full" if self.options.model == "tiny" else self.options.method,
                   "trained_on": "conversations (assistant turns only)", "tools_rendered": self._with_tools},
        )

    async def generate(self, model: ModelRole, prompts: Sequence[str]) -> list[str] | None:
        if model not in self._models:
            return None
        from . import engine
        from .chats import numbered, parse_calls

        chats = [{"messages": [{"role": "system", "content": CHAT_SYSTEM_PROMPT}, {"role": "user", "content": p}],
                  "tools": None} for p in prompts]
        answers = await asyncio.to_thread(engine.generate, self._models[model], chats, self.options)
        return [numbered(calls) if (calls := parse_calls(text)) else text for text in answers]

    def _base_for_sampling(self) -> Path:
        from .engine import _local_dir

        for module in _NEEDS:
            if importlib.util.find_spec(module) is None:
                raise MissingExtraError("training backend 'trl'", "trl", module)
        if self.options.is_tiny:
            raise ConfigError(
                "training backend 'trl': model \"tiny\" has no base model before training (its random init is "
                "built from the train split), so it cannot be sampled for routing; set [backend] model to a "
                "pretrained model (a local path or a hub id)"
            )
        return _local_dir(self.options.model)

    async def sample(self, prompts: Sequence[str], sampling: Sampling, settings: TrainingSettings) -> list[list[str]]:
        from . import engine
        from .chats import numbered, parse_calls

        chats = [{"messages": [{"role": "system", "content": CHAT_SYSTEM_PROMPT}, {"role": "user", "content": p}],
                  "tools": None} for p in prompts]
        answers = await asyncio.to_thread(engine.sample, self._base_for_sampling(), chats, self.options,
                                          sampling.samples, sampling.temperature, sampling.seed)
        return [[numbered(calls) if (calls := parse_calls(text)) else text for text in texts] for texts in answers]

    async def sample_steps(
        self, prompts: Sequence[StepPrompt], sampling: Sampling, settings: TrainingSettings
    ) -> list[list[tuple[ToolCall, ...]]]:
        from . import engine
        from .chats import messages, parse_calls

        chats = [messages(prompt.history, settings.prompt_layout == "catalogue") for prompt in prompts]
        answers = await asyncio.to_thread(engine.sample, self._base_for_sampling(), chats, self.options,
                                          sampling.samples, sampling.temperature, sampling.seed)
        return [[parse_calls(text) for text in texts] for texts in answers]

    async def generate_steps(self, model: ModelRole, prompts: Sequence[StepPrompt]) -> list[tuple[ToolCall, ...]] | None:
        if model not in self._models:
            return None
        from . import engine
        from .chats import messages, parse_calls

        chats = [messages(prompt.history, self._with_tools) for prompt in prompts]
        answers = await asyncio.to_thread(engine.generate, self._models[model], chats, self.options)
        return [parse_calls(text) for text in answers]


@hookimpl
def deepeyes_training_backends():
    return [TrlBackend]
