"""The ``source`` describer: the user's own request, where the log has one.

Chat transcripts (``anthropic-messages``, ``openai-chat``) and agent traces (``otel``) carry what
the user actually asked (``Trajectory.user_request``); that is the most honest task text there is.
Trajectories without one (Phase 1 logs, traces without an ``invoke_agent`` input) are described by
the ``fallback`` describer, ``template`` unless configured::

    [describer]
    name = "source"
    fallback = "anthropic"   # any task describer but "source" itself
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from deepeyes_core import ConfigError, Rejection, Trajectory, get_plugin_manager, hookimpl


class SourceRequestDescriber:
    """The user's own request from the log; the fallback describer where there is none."""

    name = "source"

    @attrs.frozen
    class Options:
        #: The describer for trajectories without a user request.
        fallback: str = "template"

    def __init__(self, options: Options):
        if options.fallback == self.name:
            raise ConfigError(f"task describer {self.name!r}: fallback cannot be {self.name!r} itself")
        self.options = options
        self.fallback = get_plugin_manager().build("task_describer", options.fallback)

    async def describe(self, trajectories: Sequence[Trajectory]) -> list[str | Rejection]:
        answers: list[str | Rejection | None] = [
            t.user_request.strip() if t.user_request and t.user_request.strip() else None for t in trajectories
        ]
        missing = [i for i, answer in enumerate(answers) if answer is None]
        if missing:
            described = await self.fallback.describe([trajectories[i] for i in missing])
            if len(described) != len(missing):
                raise RuntimeError(
                    f"fallback describer {self.options.fallback!r} returned {len(described)} answers "
                    f"for {len(missing)} trajectories"
                )
            for i, answer in zip(missing, described, strict=True):
                answers[i] = answer
        return answers  # type: ignore[return-value]


@hookimpl
def deepeyes_task_describers():
    return [SourceRequestDescriber]
