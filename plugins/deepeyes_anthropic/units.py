"""The describer's unit of work: one distinct request, shared by the interactive and batch modes."""

from __future__ import annotations

from typing import Any

import attrs

from deepeyes_core import Trajectory


@attrs.define(eq=False)
class Unit:
    """One distinct request (trajectories with identical content share it)."""

    key: str
    trajectory: Trajectory
    user_text: str
    indices: list[int]
    answers: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    problems: list[str] = attrs.field(factory=list)
    #: Final: "text", "invalid", "budget", "error"; None while calls are still needed.
    outcome: str | None = None
    text: str = ""
    detail: str = ""
    resubmits: int = 0
