"""The events a run announces through the run-event hooks, as typed records.

A run goes through :data:`STAGES` in order. ``read``, ``collect`` and ``describe`` are one
streamed pass over the logs (records are read, grouped, filtered, redacted, described and
classified as they arrive, so memory follows kept examples, not log size): the three start
together, in that order, when the pass begins, and finish together, in that order, when it ends;
each one's ``seconds`` is the time spent in its own work during the pass. Every other stage
starts after the one before it has finished. A run that stops early (too little data) skips the
stages it does not reach, and a run without a router skips ``route``; ``report`` always runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

#: Every stage of a run, in order. ``check`` holds back, before the split, each example that a
#: configured export format cannot take. ``route`` runs only when a ``[router]`` is configured
#: (it sends examples to SFT or the RL pool, or drops them, by the base model's pass rate).
STAGES = ("read", "collect", "describe", "dedup", "check", "route", "split", "export", "train", "evaluate", "report")

#: The stages that run together as one streamed pass over the logs.
STREAMED_STAGES = ("read", "collect", "describe")


@attrs.frozen(slots=True)
class RunInfo:
    """Which run an event belongs to."""

    run_id: str
    output_dir: str
    #: The run's config as the report writes it (defaults filled in, secrets masked).
    config: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(slots=True)
class StageStarted:
    stage: str
    run: RunInfo


@attrs.frozen(slots=True)
class StageFinished:
    stage: str
    run: RunInfo
    #: Wall-clock seconds spent in this stage's own work.
    seconds: float
    #: What the stage did: counts of records, examples, files, steps...
    summary: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(slots=True)
class RunFinished:
    run: RunInfo
    #: ``completed``, ``insufficient_data``...: the run's final status.
    status: str
    #: The training report, as written to ``report_file``.
    report: Mapping[str, Any]
    report_file: str
