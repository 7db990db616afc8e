"""Hook specifications: what a deepeyes plugin can implement.

A plugin is a module (or object) with functions decorated by :data:`hookimpl` and named as below.
Component hooks are called once when the plugin manager loads, by every plugin that implements
them; each returns the component classes the plugin provides, and each class is checked against
its protocol then. ``deepeyes_redactor`` is called once per run, and the first plugin that returns
a redactor replaces the built-in one. Run-event hooks are called as a run goes on, 1:N, by every
plugin that implements them; their return values are ignored.

Versioning: :data:`HOOK_API_VERSION` is the version of these specifications. A plugin module may
say which version it was written for with ``DEEPEYES_HOOK_API = <n>``; deepeyes refuses a plugin
that needs a newer API than its own. A hook whose arguments change keeps the old arguments for one
API version, and an implementation that still asks for them gets a ``DeprecationWarning`` naming
the replacement (as pytest does); they are removed in the next version.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pluggy

from .events import RunFinished, StageFinished, StageStarted

from .redaction import RedactionOptions
from .components import (
    ArgumentGenerator,
    DifficultyClassifier,
    Exporter,
    Router,
    Splitter,
    TaskDescriber,
    Tool,
    TrainingBackend,
    TrajectorySource,
)

hookspec = pluggy.HookspecMarker("deepeyes")
hookimpl = pluggy.HookimplMarker("deepeyes")

#: The version of the hook specifications. 2: run-event hooks take a typed ``event``; their
#: ``stage``/``context``/``summary``/``report`` arguments are deprecated (removed in 3).
HOOK_API_VERSION = 2


def _deprecated(argument: str, instead: str) -> DeprecationWarning:
    return DeprecationWarning(
        f"the {argument!r} argument of this hook is deprecated since deepeyes hook API 2 and will be "
        f"removed in API 3: take 'event' and read {instead}"
    )


@hookspec
def deepeyes_trajectory_sources() -> Iterable[type[TrajectorySource]]:
    """Return the trajectory source classes this plugin provides.

    Called once when the plugin manager loads. A source reads log files and yields
    ``ToolInvocation``s (deepeyes groups them into trajectories), whole ``Trajectory``s, or
    ``Rejection``s for records it cannot use. Example::

        import attrs
        from deepeyes_core import NoOptions, ToolInvocation, hookimpl, read_jsonl

        class CsvLogSource:
            \"\"\"Tool calls from our CSV audit log.\"\"\"
            name = "audit-csv"

            @attrs.frozen
            class Options:
                delimiter: str = ","

            def __init__(self, options):
                self.options = options

            def read(self, paths):
                for path in paths:
                    ...  # yield ToolInvocation(...) per row, Rejection(...) per bad row

        @hookimpl
        def deepeyes_trajectory_sources():
            yield CsvLogSource
    """


@hookspec
def deepeyes_task_describers() -> Iterable[type[TaskDescriber]]:
    """Return the task-description generator classes this plugin provides.

    Called once when the plugin manager loads. A describer's ``async describe(trajectories)``
    returns, for each trajectory in order, the natural-language task (the request a user would
    have made, naming every argument value the calls need) or a ``Rejection``. Example::

        class ShoutingDescriber:
            \"\"\"Names the tools, loudly.\"\"\"
            name = "shouting"
            Options = NoOptions

            def __init__(self, options):
                pass

            async def describe(self, trajectories):
                return [" THEN ".join(t.tool_sequence).upper() for t in trajectories]

        @hookimpl
        def deepeyes_task_describers():
            return [ShoutingDescriber]
    """


@hookspec
def deepeyes_difficulty_classifiers() -> Iterable[type[DifficultyClassifier]]:
    """Return the difficulty classifier classes this plugin provides.

    Called once when the plugin manager loads. ``classify(trajectory)`` returns "easy",
    "medium" or "hard". Example::

        class ByDistinctTools:
            \"\"\"Hard when three or more different tools are involved.\"\"\"
            name = "distinct"
            Options = NoOptions

            def __init__(self, options):
                pass

            def classify(self, trajectory):
                n = len(set(trajectory.tool_sequence))
                return "easy" if n == 1 else "medium" if n == 2 else "hard"

        @hookimpl
        def deepeyes_difficulty_classifiers():
            return [ByDistinctTools]
    """


@hookspec
def deepeyes_splitters() -> Iterable[type[Splitter]]:
    """Return the splitter classes this plugin provides.

    Called once when the plugin manager loads. ``split(examples, ratios)`` returns
    ``{"train": [...], "val": [...], "test": [...]}`` holding every example exactly once,
    deterministic for ``ratios.seed``. Example::

        class FirstComeSplitter:
            \"\"\"The first examples train, the last ones test.\"\"\"
            name = "first-come"
            Options = NoOptions

            def __init__(self, options):
                pass

            def split(self, examples, ratios):
                a = int(len(examples) * ratios.train)
                b = a + int(len(examples) * ratios.val)
                return {"train": list(examples[:a]), "val": list(examples[a:b]),
                        "test": list(examples[b:])}

        @hookimpl
        def deepeyes_splitters():
            return [FirstComeSplitter]
    """


@hookspec
def deepeyes_exporters() -> Iterable[type[Exporter]]:
    """Return the exporter classes this plugin provides.

    Called once when the plugin manager loads. ``export(splits, output_dir, prompt_layout)``
    validates every record against the format's rules, writes the files atomically (see
    ``deepeyes_core.atomic_jsonl``), and returns ``{split: path}``. Example::

        class CsvExporter:
            \"\"\"prompt,completion CSV files.\"\"\"
            name = "csv"
            Options = NoOptions

            def __init__(self, options):
                pass

            def export(self, splits, output_dir, prompt_layout):
                ...  # one file per split under output_dir / "csv"

        @hookimpl
        def deepeyes_exporters():
            return [CsvExporter]
    """


@hookspec
def deepeyes_training_backends() -> Iterable[type[TrainingBackend]]:
    """Return the training backend classes this plugin provides.

    Called once when the plugin manager loads. ``async train(train, val, settings, workdir)``
    returns a ``TrainingRun``; ``async generate(model, prompts)`` answers prompts with the
    "base" or the "trained" model, or returns None when it cannot (evaluation then reports
    "not measured"). Example::

        class EchoBackend:
            \"\"\"Trains nothing and answers nothing.\"\"\"
            name = "echo"
            Options = NoOptions

            def __init__(self, options):
                pass

            async def train(self, train, val, settings, workdir, progress=None):
                return TrainingRun(backend=self.name, trained=False, reason="echo trains nothing")

            async def generate(self, model, prompts):
                return None

        @hookimpl
        def deepeyes_training_backends():
            return [EchoBackend]
    """


@hookspec
def deepeyes_routers() -> Iterable[type[Router]]:
    """Return the router classes this plugin provides.

    Called once when the plugin manager loads. A run uses a router only when its config has a
    ``[router]`` table (there is no default). ``check(backend)`` is called when the pipeline is
    built and raises ConfigError when the router cannot work with that backend; ``async
    route(examples, backend, settings)`` runs after dedup and the format check, before the split
    (the ``route`` stage), and returns ``Routes``: ``sft`` (kept for cold-start SFT), ``rl_pool``
    (written to ``rl_pool.jsonl``) and ``rejected`` (each with its ``Rejection``, into
    ``rejects.jsonl``), every example in exactly one. The built-in ``pass-rate`` router samples
    the base model through the backend's ``sample``/``sample_steps`` (DeepEyesV2's curation).
    Example::

        from deepeyes_core import NoOptions, RoutedExample, Routes, hookimpl

        class LongOnesToRl:
            \"\"\"Trajectories of five calls or more go to the RL pool, unscored.\"\"\"
            name = "long-to-rl"
            Options = NoOptions

            def __init__(self, options):
                pass

            def check(self, backend):
                pass  # needs no model

            async def route(self, examples, backend, settings):
                items = [RoutedExample(e, 0, 1, "none") for e in examples]
                return Routes(sft=tuple(i for i in items if i.example.sequence_length < 5),
                              rl_pool=tuple(i for i in items if i.example.sequence_length >= 5))

        @hookimpl
        def deepeyes_routers():
            return [LongOnesToRl]
    """


@hookspec
def deepeyes_tools() -> Iterable[Tool]:
    """Return the tools Phase 1 (``run_deepeyesv2_baseline``) can invoke.

    Called when a baseline run starts without an explicit tool list. Example::

        @hookimpl
        def deepeyes_tools():
            yield Tool(name="upper", invoke=lambda args: args["text"].upper(),
                       sample_arguments=lambda rng: {"text": rng.choice(["a", "b"])})
    """


@hookspec
def deepeyes_argument_generators() -> Iterable[type[ArgumentGenerator]]:
    """Return the argument generator classes this plugin provides.

    Called once when the plugin manager loads. Phase 1 over MCP servers (``[baseline.arguments]``
    names one) asks ``async arguments(tool, count, seed)`` for exactly ``count`` argument objects
    for a tool, given its ``ToolSpec`` (name, description, JSON Schema from the server's
    ``tools/list``). Example::

        class EmptyArguments:
            \"\"\"Calls every tool with no arguments.\"\"\"
            name = "empty"
            Options = NoOptions

            def __init__(self, options):
                pass

            async def arguments(self, tool, count, seed):
                return [{} for _ in range(count)]

        @hookimpl
        def deepeyes_argument_generators():
            return [EmptyArguments]
    """


@hookspec(firstresult=True)
def deepeyes_redactor(options: RedactionOptions) -> Any | None:
    """Return a redactor to use instead of the built-in one, or None to leave it.

    Called once per run, before any log is read, with the run's ``[redaction]`` options. The first
    plugin that returns an object wins; it must have ``redact(trajectory) -> Trajectory`` (every
    string of every call, result, error and request cleaned) and ``stats() -> dict`` (counts per
    kind, written to ``dataset_stats.json``). Redaction is replaceable because what counts as a
    secret is each organisation's own (internal token formats, a DLP service); wrap the built-in
    :class:`~deepeyes_core.Redactor` to add to it rather than lose it. Example::

        import re
        from deepeyes_core import Redactor, hookimpl

        class WithTicketIds:
            \"\"\"The built-in redaction, plus our internal ticket ids.\"\"\"

            def __init__(self, options):
                self.inner = Redactor(options)
                self.tickets = 0

            def redact(self, trajectory):
                ...  # self.inner.redact(trajectory), then replace re.compile(r"TCK-\\d{6}") matches

            def stats(self):
                return {**self.inner.stats(), "ticket_id": self.tickets}

        @hookimpl
        def deepeyes_redactor(options):
            return WithTicketIds(options)
    """


@hookspec(warn_on_impl_args={"stage": _deprecated("stage", "event.stage"),
                             "context": _deprecated("context", "event.run")})
def deepeyes_stage_started(event: StageStarted, stage: str, context: dict[str, Any]) -> None:
    """Called when a stage of a run starts (see :data:`deepeyes_core.events.STAGES` for the
    stages, their order, and how the streamed ones overlap). Example::

        import logging
        from deepeyes_core import hookimpl

        @hookimpl
        def deepeyes_stage_started(event):
            logging.info("run %s: %s started", event.run.run_id, event.stage)
    """


@hookspec(warn_on_impl_args={"stage": _deprecated("stage", "event.stage"),
                             "context": _deprecated("context", "event.run"),
                             "summary": _deprecated("summary", "event.summary and event.seconds")})
def deepeyes_stage_finished(
    event: StageFinished, stage: str, context: dict[str, Any], summary: dict[str, Any]
) -> None:
    """Called when a stage of a run ends, with what it did (``event.summary``: counts of records,
    examples, files, steps) and the seconds spent in it. Example::

        @hookimpl
        def deepeyes_stage_finished(event):
            metrics.gauge(f"deepeyes.{event.stage}.seconds", event.seconds)
    """


@hookspec(warn_on_impl_args={"report": _deprecated("report", "event.report")})
def deepeyes_run_finished(event: RunFinished, report: dict[str, Any]) -> None:
    """Called once at the end of a run, after the training report was written, with the report
    and its path. Example::

        @hookimpl
        def deepeyes_run_finished(event):
            print(f"{event.status}: {event.report_file}")
    """
