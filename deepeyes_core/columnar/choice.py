"""Which engine runs a pipeline, and why (said in the report and the CLI's summary)."""

from __future__ import annotations

from typing import Any

import attrs
from cattrs.gen import make_dict_unstructure_fn, override

from ..components import BATCH_METHODS
from ..errors import ConfigError
from ..records import converter

#: How a component of each kind is called in the reasons.
_KIND_WORDS = {
    "trajectory_source": "trajectory source",
    "task_describer": "task describer",
    "difficulty_classifier": "difficulty classifier",
    "splitter": "splitter",
    "exporter": "exporter",
    "training_backend": "training backend",
}


@attrs.frozen(slots=True)
class RayStage:
    """What the Ray engine's stage cost, measured: the Ray tasks that described, classified and
    validated; the CPU seconds they spent, summed over the workers (a task run again after its
    worker died counts once); the stage's wall time on the driver, from shipping the trajectories to
    the last result back; and the CPUs the Ray instance offered. The rest of a run is the driver's
    and does not shrink as CPUs are added."""

    tasks: int
    task_cpu_s: float
    wall_s: float
    cpus: float


@attrs.frozen(slots=True)
class EngineChoice:
    """The engine a run used (``row``, ``columnar`` or ``ray``) and the sentence that says why;
    for Ray, what its stage cost (written only then)."""

    name: str
    reason: str
    ray: RayStage | None = None


converter.register_unstructure_hook(
    EngineChoice, make_dict_unstructure_fn(EngineChoice, converter, ray=override(omit_if_default=True))
)


def _components(pipeline: Any, kind: str) -> list[Any]:
    if kind == "trajectory_source":
        return [binding.source for binding in pipeline.sources]
    single = {"task_describer": "describer", "difficulty_classifier": "classifier", "splitter": "splitter",
              "training_backend": "backend"}
    return list(pipeline.exporters) if kind == "exporter" else [getattr(pipeline, single[kind])]


def missing_batch_methods(pipeline: Any) -> list[str]:
    """One line per configured component that lacks the batch method the columnar engine calls on
    its kind (:data:`~deepeyes_core.components.BATCH_METHODS`), e.g. ``trajectory source 'otel'
    has no read_batches method``."""
    return [
        f"{_KIND_WORDS[kind]} {component.name!r} has no {method} method"
        for kind, method in BATCH_METHODS.items()
        for component in _components(pipeline, kind)
        if not callable(getattr(component, method, None))
    ]


def _polars_missing() -> str | None:
    try:
        import polars  # noqa: F401
    except ImportError:
        return "polars is not installed (pip install 'deepeyes[columnar]')"
    return None


def require_columnar(pipeline: Any, name: str = "columnar") -> None:
    """Raise ConfigError when ``[engine] name = "columnar"`` (or ``"ray"``, which reads and groups as
    it does, then needs ray and components that pickle) cannot run this pipeline, naming every
    component without its batch method (or the missing extra)."""
    problems = missing_batch_methods(pipeline) if pipeline.sources else ["the pipeline has no sources to read"]
    missing = _polars_missing()
    if missing:
        problems.append(missing)
    if problems:
        raise ConfigError(f'[engine] name = "{name}" cannot run this pipeline: {"; ".join(problems)}')
    if name == "ray":
        from .ray_engine import ray_module, require_shippable

        ray_module()
        require_shippable(pipeline)


def choose_engine(pipeline: Any, items: Any) -> EngineChoice:
    """The engine for a run of ``pipeline`` over ``items``: columnar when ``[engine] name`` is
    ``columnar``, or ``auto`` and the items are the pipeline's own sources (``Pipeline.items()``),
    every component offers its batch method and polars is installed; else row."""
    from ..pipeline import SourceItems

    name = pipeline.engine.name
    if name == "row":
        return EngineChoice("row", '[engine] name = "row"')
    if not (isinstance(items, SourceItems) and items.pipeline is pipeline):
        reason = "the run was handed records (a BaselineTracker or an iterable), not the pipeline's sources to read"
        if name in ("columnar", "ray"):
            raise ConfigError(f'[engine] name = "{name}" cannot run: {reason}')
        return EngineChoice("row", f"auto: {reason}")
    if name in ("columnar", "ray"):
        require_columnar(pipeline, name)
        return EngineChoice(name, f'[engine] name = "{name}"')
    problems = missing_batch_methods(pipeline)
    missing = _polars_missing()
    if problems or missing or not pipeline.sources:
        why = "; ".join(problems + ([missing] if missing else []) + ([] if pipeline.sources else ["no sources"]))
        return EngineChoice("row", f"auto: {why}")
    offered = ", ".join(f"{_KIND_WORDS[k]}s: {m}" for k, m in BATCH_METHODS.items())
    return EngineChoice("columnar", f"auto: every component the columnar engine batches offers its batch method ({offered})")
