"""The component protocols that hooks hand back, and the small records they exchange.

A component is a class with a ``name`` (unique within its kind), a docstring (its first line is shown
by ``deepeyes plugins``), and an attrs ``Options`` class. deepeyes builds it as ``Component(options)``
from the config section of that kind; a component with nothing to configure uses :class:`NoOptions`.
Heavy imports belong inside methods so that listing plugins stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import attrs

from .chat import StepPrompt
from .records import (
    Rejection,
    ToolCall,
    ToolInvocation,
    ToolSpec,
    TrainingExample,
    Trajectory,
)
from .settings import DATASET, TRAINER

#: What a trajectory source yields: invocations (grouped later), whole trajectories, rejections, or
#: tool definitions the log declares (a ToolSpec: the catalogue then shows it as declared).
SourceItem = ToolInvocation | Trajectory | Rejection | ToolSpec

#: The model an evaluation asks a backend to answer with.
ModelRole = Literal["base", "trained"]

KINDS = (
    "trajectory_source",
    "task_describer",
    "difficulty_classifier",
    "splitter",
    "exporter",
    "training_backend",
    "router",
    "argument_generator",
)


@attrs.frozen(slots=True)
class NoOptions:
    """Options of a component that has none."""


@runtime_checkable
class Component(Protocol):
    name: ClassVar[str]
    Options: ClassVar[type]


class TrajectorySource(Component, Protocol):
    """Reads logs. Streams: yields items as it reads, holding no more than a record (or a trace)."""

    def read(self, paths: Sequence[Path]) -> Iterator[SourceItem]: ...


class BatchTrajectorySource(TrajectorySource, Protocol):
    """A source the columnar engine can read: besides ``read``, ``read_batches`` yields the same
    items in batches (:class:`~deepeyes_core.InvocationBatch`: the records in read order, and a
    polars frame of their calls' columns), each about ``chunk_bytes`` of log. Build a batch with
    :func:`~deepeyes_core.invocation_batch`; the items must be exactly those ``read`` yields."""

    def read_batches(self, paths: Sequence[Path], chunk_bytes: int) -> Iterator[Any]: ...


#: The batch method the columnar engine calls on each kind of component it runs in batches; a
#: kind not named here runs its row methods in either engine. ``[engine] name = "auto"`` picks the
#: columnar engine when every configured component of these kinds has its method (optional
#: protocol methods: a component without one still loads, and makes ``auto`` pick the row engine).
BATCH_METHODS: Mapping[str, str] = {"trajectory_source": "read_batches"}


class TaskDescriber(Component, Protocol):
    """Writes the natural-language task of each trajectory (what a user would have asked)."""

    async def describe(self, trajectories: Sequence[Trajectory]) -> list[str | Rejection]:
        """One answer per trajectory, in order: the task text, or why there is none."""
        ...


class DifficultyClassifier(Component, Protocol):
    """Labels a trajectory 'easy', 'medium' or 'hard'."""

    def classify(self, trajectory: Trajectory) -> str: ...


@attrs.frozen(slots=True)
class SplitRatios:
    """What a splitter is asked for (``[dataset]``'s ratios and seed)."""

    train: float = DATASET.train_ratio
    val: float = DATASET.val_ratio
    test: float = DATASET.test_ratio
    seed: int = DATASET.random_seed


class Splitter(Component, Protocol):
    """Assigns each example to exactly one of train, val and test."""

    def split(
        self, examples: Sequence[TrainingExample], ratios: SplitRatios
    ) -> dict[str, list[TrainingExample]]: ...


class Exporter(Component, Protocol):
    """Writes the splits in one training format. Validates every record against the format's
    documented rules before anything is written, and writes atomically."""

    def export(
        self, splits: Mapping[str, Sequence[TrainingExample]], output_dir: Path, prompt_layout: str
    ) -> dict[str, Path]: ...


class RecordExporter(Exporter, Protocol):
    """An exporter that makes one record per example and checks each against its format's rules;
    :func:`~deepeyes_core.checked_records` runs that loop for its ``export``."""

    def record(self, example: TrainingExample, prompt_layout: str) -> dict[str, Any]: ...

    def check(self, record: dict[str, Any]) -> list[str]: ...


@attrs.frozen(slots=True)
class TrainingSettings:
    """The trainer's settings, as the guide names them, handed to every backend."""

    model_id: str
    epochs: int = TRAINER.epochs
    learning_rate: float = TRAINER.learning_rate
    batch_size: int = TRAINER.batch_size
    seed: int = DATASET.random_seed
    prompt_layout: str = DATASET.prompt_layout


@attrs.frozen(slots=True)
class EpochMetrics:
    epoch: int
    train_loss: float | None = None
    val_loss: float | None = None
    train_token_accuracy: float | None = None
    val_token_accuracy: float | None = None
    #: Backends that select rather than fit (in-context adaptation) report a validation score.
    val_score: float | None = None


@attrs.frozen(slots=True)
class TrainingRun:
    """What a backend's training did. ``trained`` is False when nothing was trained, with a reason."""

    backend: str
    trained: bool
    reason: str = ""
    epochs: tuple[EpochMetrics, ...] = ()
    total_steps: int | None = None
    total_tokens: int | None = None
    wall_time_s: float | None = None
    artifact: str | None = None
    device: str | None = None
    #: Settings the backend did not use, e.g. ``{"learning_rate": "not applicable"}``.
    not_applicable: dict[str, str] = attrs.field(factory=dict)
    library_versions: dict[str, str] = attrs.field(factory=dict)
    extra: dict[str, Any] = attrs.field(factory=dict)


class TrainingBackend(Component, Protocol):
    """Trains (or adapts) a model on the train split, and answers prompts with the base model or
    the trained one so the evaluator can measure both on the same held-out prompts."""

    async def train(
        self,
        train: Sequence[TrainingExample],
        val: Sequence[TrainingExample],
        settings: TrainingSettings,
        workdir: Path,
        progress: Callable[[int, int], None] | None = None,
    ) -> TrainingRun: ...

    async def generate(self, model: ModelRole, prompts: Sequence[str]) -> list[str] | None:
        """Completions for the prompts, in order; None when this backend cannot answer (nothing
        was trained, or it has no model), which evaluation reports as "not measured"."""
        ...


class StepGenerator(Protocol):
    """What a training backend offers for step-level evaluation (optional: a backend without it
    is evaluated on the blind call sequence only)."""

    async def generate_steps(
        self, model: ModelRole, prompts: Sequence[StepPrompt]
    ) -> list[tuple[ToolCall, ...]] | None:
        """For each prompt (the conversation up to one step, with the real results before it, and
        the tools), the calls the model makes next, parsed from its answer (empty when it made
        none or answered in a form that is not a call), in order; None when this backend cannot
        answer (nothing was trained), which evaluation reports as "not measured"."""
        ...


class ArgumentGenerator(Component, Protocol):
    """Makes the arguments Phase 1 calls a tool with, from the tool's definition (its JSON Schema)."""

    async def arguments(self, tool: ToolSpec, count: int, seed: int) -> list[dict[str, Any]]:
        """Exactly ``count`` argument objects for ``tool``, in order; the same for the same seed
        where the generator can promise it (a cached LLM answer, a seeded generator)."""
        ...


@attrs.frozen(slots=True)
class Sampling:
    """How to sample a model: ``samples`` answers per prompt at ``temperature`` (> 0), reproducible
    for ``seed`` (with the same prompts, model and device; an API backend replays them from its cache)."""

    samples: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    temperature: float = attrs.field(default=1.0, validator=attrs.validators.gt(0.0))
    seed: int = DATASET.random_seed


class BaseSampler(Protocol):
    """What a training backend offers for routing by pass rate (optional): its base model (the model
    before any training, as the backend's options and the run's settings name it), sampled."""

    async def sample(
        self, prompts: Sequence[str], sampling: Sampling, settings: TrainingSettings
    ) -> list[list[str]]:
        """``sampling.samples`` answers per prompt (the blind-sequence prompt), in order."""
        ...

    async def sample_steps(
        self, prompts: Sequence[StepPrompt], sampling: Sampling, settings: TrainingSettings
    ) -> list[list[tuple[ToolCall, ...]]]:
        """``sampling.samples`` answers per step prompt, each the calls the model makes next, in order."""
        ...


@attrs.frozen(slots=True)
class RoutedExample:
    """An example and how often the base model solved it."""

    example: TrainingExample
    passes: int
    samples: int
    #: "step" (every step right, real results shown) or "blind-sequence" (exact sequence).
    mode: str

    @property
    def pass_rate(self) -> float:
        return self.passes / self.samples


@attrs.frozen(slots=True)
class Routes:
    """Where a router sends examples: ``sft`` (kept for cold-start SFT), ``rl_pool`` (written to
    ``rl_pool.jsonl``), ``rejected`` (dropped: into ``rejects.jsonl``); ``settings``: what the
    router did it with (written into the stats)."""

    sft: tuple[RoutedExample, ...] = ()
    rl_pool: tuple[RoutedExample, ...] = ()
    rejected: tuple[tuple[RoutedExample, Rejection], ...] = ()
    settings: Mapping[str, Any] = attrs.field(factory=dict)


class Router(Component, Protocol):
    """Sends each example to cold-start SFT or the RL pool, or drops it, by what the base model
    can already do."""

    def check(self, backend: TrainingBackend) -> None:
        """Raise ConfigError when this router cannot work with ``backend`` (called when the
        pipeline is built, before any log is read)."""
        ...

    async def route(
        self, examples: Sequence[TrainingExample], backend: TrainingBackend, settings: TrainingSettings
    ) -> Routes:
        """Every example in exactly one of the routes."""
        ...


@attrs.frozen(slots=True)
class Tool:
    """A tool Phase 1 can invoke: an async callable plus a way to make realistic arguments."""

    name: str
    invoke: Callable[[dict[str, Any]], Any]
    sample_arguments: Callable[[Any], dict[str, Any]]
    description: str = ""
