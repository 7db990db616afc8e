"""A run's settings, each default written once, each value checked when it is made.

The tables of a config (``[collector]``, ``[dataset]``, ``[trainer]``, ``[evaluation]``) are these classes, and
the guide's classes (:class:`~deepeyes_core.TrajectoryCollector`, :class:`~deepeyes_core.SFTDataset`,
:class:`~deepeyes_core.ColdStartTrainer`) take their signatures' defaults from them. A value out of
range is an :class:`InvalidSetting` (a ``ValueError``) naming the field, raised before any log is read.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from .leakage import THRESHOLD as NEAR_DUPLICATE_THRESHOLD
from .limits import MAX_CALLS_BYTES, MAX_VALUE_CHARS
from .records import DEFAULT_PROMPT_LAYOUT, PROMPT_LAYOUTS

#: The guide's default model id (``claude-3-5-haiku-20241022``) was retired on 2026-02-19; this is
#: the Haiku of record.
DEFAULT_MODEL_ID = "claude-haiku-4-5"


class InvalidSetting(ValueError):
    """A setting out of its range; the message names the field and what it accepts."""


def _within(low: float, high: float):
    def check(_: Any, attribute: attrs.Attribute, value: float) -> None:
        if not low <= value <= high:
            raise InvalidSetting(f"{attribute.name} must be within {low:g}..{high:g}, got {value!r}")

    return check


def _at_least(low: float):
    def check(_: Any, attribute: attrs.Attribute, value: float) -> None:
        if not value >= low:
            raise InvalidSetting(f"{attribute.name} must be at least {low:g}, got {value!r}")

    return check


def _positive(_: Any, attribute: attrs.Attribute, value: float) -> None:
    if not value > 0:
        raise InvalidSetting(f"{attribute.name} must be greater than 0, got {value!r}")


def _one_of(choices: tuple[str, ...]):
    def check(_: Any, attribute: attrs.Attribute, value: str) -> None:
        if value not in choices:
            raise InvalidSetting(f"{attribute.name} must be one of {', '.join(map(repr, choices))}, got {value!r}")

    return check


@attrs.frozen(slots=True)
class CollectorSettings:
    """``[collector]``: which trajectories become examples."""

    #: Keep trajectories whose calls succeeded at least this often (the guide's 90 %).
    quality_threshold: float = attrs.field(default=0.90, validator=_within(0.0, 1.0))
    min_trajectory_length: int = attrs.field(default=1, validator=_at_least(1))
    max_trajectory_length: int = attrs.field(default=5, validator=_at_least(1))
    #: Calls of one agent without a session id more than this far apart start a new trajectory.
    session_gap_seconds: float = attrs.field(default=300.0, validator=_positive)
    #: A session that received no call for this long (in log time) is closed.
    session_timeout_seconds: float = attrs.field(default=3600.0, validator=_positive)
    #: Trajectories handed to the describer at once (a describer may ask for more).
    describe_batch_size: int = attrs.field(default=512, validator=_at_least(1))
    #: A trajectory with a parameter value or result longer than this is rejected ("too large").
    max_value_chars: int = attrs.field(default=MAX_VALUE_CHARS, validator=_at_least(1))
    #: A trajectory whose calls (arguments and results) exceed this many JSON bytes is rejected.
    max_calls_bytes: int = attrs.field(default=MAX_CALLS_BYTES, validator=_at_least(1))
    #: A tool result longer than this is cut, with a marker and its original length kept.
    max_result_chars: int = attrs.field(default=4000, validator=_at_least(1))
    #: Reject trajectories with a failed call (default: keep them with their error results, since
    #: recovering from a failed call is what agents must learn).
    drop_failed_calls: bool = False

    def __attrs_post_init__(self) -> None:
        if self.min_trajectory_length > self.max_trajectory_length:
            raise InvalidSetting(
                f"min_trajectory_length ({self.min_trajectory_length}) must not exceed "
                f"max_trajectory_length ({self.max_trajectory_length})"
            )


@attrs.frozen(slots=True)
class DatasetSettings:
    """``[dataset]``: how examples are split and what the prompt shows."""

    train_ratio: float = attrs.field(default=0.70, validator=_within(0.0, 1.0))
    val_ratio: float = attrs.field(default=0.15, validator=_within(0.0, 1.0))
    test_ratio: float = attrs.field(default=0.15, validator=_within(0.0, 1.0))
    random_seed: int = 42
    #: ``catalogue``: task and tool catalogue; ``task``: task only; ``guide``: repeats the answer.
    prompt_layout: str = attrs.field(default=DEFAULT_PROMPT_LAYOUT, validator=_one_of(PROMPT_LAYOUTS))

    def __attrs_post_init__(self) -> None:
        total = self.train_ratio + self.val_ratio + self.test_ratio
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise InvalidSetting(
                f"train_ratio + val_ratio + test_ratio must sum to 1, got "
                f"{self.train_ratio} + {self.val_ratio} + {self.test_ratio} = {total:g}"
            )


@attrs.frozen(slots=True)
class TrainerSettings:
    """``[trainer]``: what the backend is asked to train, and when a run is ready for RL."""

    model_id: str = DEFAULT_MODEL_ID
    epochs: int = attrs.field(default=3, validator=_at_least(1))
    learning_rate: float = attrs.field(default=0.001, validator=_positive)
    batch_size: int = attrs.field(default=8, validator=_at_least(1))
    #: Fewer examples than this: nothing is split, trained or evaluated (status insufficient_data).
    min_examples: int = attrs.field(default=100, validator=_at_least(0))
    #: The trained model's exact-sequence accuracy needed for ``readiness_for_rl``.
    readiness_threshold: float = attrs.field(default=0.85, validator=_within(0.0, 1.0))


#: How tool-call arguments are compared when a model's answer is scored (see :mod:`deepeyes_core.matching`).
MATCHING_MODES = ("bfcl", "strict")


@attrs.frozen(slots=True)
class EvaluationSettings:
    """``[evaluation]``: how answers are scored and which test examples the headline counts."""

    #: ``bfcl``: as BFCL's AST checker judges (normalised strings, accepted-value lists, optional
    #: parameters, types from the tool schema); ``strict``: exact equality of every value.
    matching: str = attrs.field(default="bfcl", validator=_one_of(MATCHING_MODES))
    #: A test example with a train example at least this similar (the leakage definition's Jaccard)
    #: is a near-duplicate of train; the others are "clean".
    near_duplicate_threshold: float = attrs.field(default=NEAR_DUPLICATE_THRESHOLD, validator=_within(0.0, 1.0))
    #: The headline is measured on the clean test examples when there are at least this many.
    min_clean_examples: int = attrs.field(default=30, validator=_at_least(1))
    #: Drop near-duplicates of train from val and test before evaluation (rejected, counted).
    decontaminate: bool = False
    #: Evaluate on a seeded sample of at most this many test examples (every scorer on the same
    #: ones): each model answers them all, and the retrieval control costs |sample| x |train|.
    max_test_examples: int = attrs.field(default=5000, validator=_at_least(1))


#: ``auto`` runs the columnar engine when every component offers its batch method, else the row
#: one; it never picks ``ray``.
ENGINES = ("auto", "row", "columnar", "ray")


@attrs.frozen(slots=True)
class EngineSettings:
    """``[engine]``: which engine runs the read, group and filter stages (see
    :mod:`deepeyes_core.columnar`). All write the same bytes; ``columnar`` needs the ``columnar``
    extra and components with batch methods, and is an error naming the one that has none;
    ``ray`` also needs the ``ray`` extra and a describer and classifier that pickle."""

    name: str = attrs.field(default="auto", validator=_one_of(ENGINES))
    #: Bytes of log the columnar engine reads at once (cut at a line end); memory follows it.
    chunk_bytes: int = attrs.field(default=8 * 2**20, validator=_at_least(1))
    #: ``ray``: the Ray cluster to join (``"auto"``, ``"ray://head:10001"``); unset starts a local one.
    address: str | None = None
    #: ``ray``: CPUs of the local instance it starts (unset: every CPU of this machine).
    num_cpus: int | None = attrs.field(default=None, validator=attrs.validators.optional(_at_least(1)))
    #: ``ray``: how often a task whose worker died is run again.
    max_retries: int = attrs.field(default=3, validator=_at_least(0))
    #: ``ray``: describe batches (``[collector] describe_batch_size`` trajectories each) per Ray task.
    batches_per_task: int = attrs.field(default=8, validator=_at_least(1))


#: The defaults, as instances: ``quality_threshold: float = COLLECTOR.quality_threshold``.
COLLECTOR = CollectorSettings()
DATASET = DatasetSettings()
TRAINER = TrainerSettings()
EVALUATION = EvaluationSettings()
ENGINE = EngineSettings()
