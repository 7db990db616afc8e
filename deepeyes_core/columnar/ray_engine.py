"""The Ray engine (``[engine] name = "ray"``): the columnar engine's pass, with description,
classification and validation run in Ray tasks.

The driver reads and groups as the columnar engine does (:func:`.engine.read_batches`,
:func:`.engine.grouped_events`: the row engine's session rules, which depend on the whole log's
order), then filters and redacts (the redaction's counts are the run's). The kept trajectories
are cut into the describe batches the row engine makes (``describe_batch_size`` each),
``batches_per_task`` batches per row of a Ray Dataset, and one ``map`` describes, classifies and
validates each row in a worker (one Python call per row, never per trajectory), a task whose
worker dies being run again up to ``max_retries`` times. The driver replays the results in the row
engine's order: a batch's describe and validation rejections right after the trajectory that
filled it, the catalogue observed in order, the counts as ``stream_grouped`` fills them. So the
engines write the same bytes. What a describer keeps between calls stays in the workers' copies,
so one with a ``usage`` (spend and budget, in the report) is refused.

The describer and classifier travel to the workers pickled (Ray's cloudpickle); one that does not
pickle is a ConfigError naming it. Ray is imported only here, when the engine runs (extra ``ray``).
"""

from __future__ import annotations

import asyncio
import pickle
import time
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from ..errors import ConfigError, EngineError, MissingExtraError
from ..records import Rejection, TrainingExample, Trajectory
from .choice import RayStage


def ray_module() -> Any:
    """The ray module, or MissingExtraError naming the ``ray`` extra."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise MissingExtraError("the ray engine", "ray", "ray[data]") from None
    return ray


def _shipped(pipeline: Any) -> dict[str, Any]:
    return {"task describer": pipeline.describer, "difficulty classifier": pipeline.classifier}


def require_shippable(pipeline: Any) -> None:
    """ConfigError naming each component Ray workers cannot take: one that does not pickle, and
    one with a ``usage`` (the run reports it and may stop on its budget; each worker would count
    its own)."""
    from ray import cloudpickle

    problems = []
    for kind, component in _shipped(pipeline).items():
        if getattr(component, "usage", None) is not None:
            name = getattr(component, "name", type(component).__qualname__)
            problems.append(f"{kind} {name!r} keeps a usage (spend, budget) that would be split across workers")
            continue
        try:
            cloudpickle.dumps(component)
        except Exception as exc:  # noqa: BLE001 (pickling raises TypeError, PicklingError, AttributeError...)
            name = getattr(component, "name", type(component).__qualname__)
            problems.append(f"{kind} {name!r} does not pickle ({type(exc).__name__}: {exc})")
    if problems:
        raise ConfigError(
            f'[engine] name = "ray" runs components in Ray workers, each with its pickled copy: {"; ".join(problems)}'
        )


@attrs.frozen(slots=True)
class _Block:
    """What a Ray task returns for a block: per describe batch, the rejections, the examples, and the
    places in the block of the trajectories they were made from (for the driver's catalogue)."""

    batches: list[tuple[list[Rejection], list[TrainingExample], list[int]]]


class _Observed:
    """A catalogue stand-in in the workers: the places of the trajectories the collector observes."""

    def __init__(self, trajectories: list[Trajectory]) -> None:
        self.places = {id(t): i for i, t in enumerate(trajectories)}
        self.observed: list[int] = []

    def observe(self, trajectory: Trajectory) -> None:
        self.observed.append(self.places[id(trajectory)])


class _Redacted:
    """The workers' redactor: the driver redacted every trajectory it sends them."""


def _describe_block(shipped: dict[str, Any], settings: dict[str, int]) -> Callable[[dict], dict]:
    """The map function: a row ``{"index", "trajectories"}`` (pickled) to ``{"index", "block"}``."""

    def describe(row: dict) -> dict:
        from ..collector import TrajectoryCollector, cyclic_gc_paused

        started = time.process_time()
        with cyclic_gc_paused():
            trajectories: list[Trajectory] = pickle.loads(row["trajectories"])
            size = settings["describe_batch_size"]
            collector = TrajectoryCollector(
                describer=shipped["task describer"], classifier=shipped["difficulty classifier"],
                redactor=_Redacted(), max_result_chars=settings["max_result_chars"],
            )
            observed = collector.catalogue = _Observed(trajectories)  # type: ignore[assignment]
            batches = []
            for start in range(0, len(trajectories), size):
                collector.rejections.clear()
                observed.observed = []
                examples = asyncio.run(collector._describe(trajectories[start:start + size]))
                batches.append((list(collector.rejections), examples, observed.observed))
            block = pickle.dumps(_Block(batches), pickle.HIGHEST_PROTOCOL)
        return {"index": row["index"], "block": block, "cpu_s": time.process_time() - started}

    return describe


def _blocks(collector: Any, events: Iterable[Trajectory | Rejection], per_block: int) -> tuple[list, list]:
    """The filter and redaction on the driver: the rejections in order, with the place of each
    describe batch (an ``int``) where the row engine would describe it, and the blocks of kept,
    redacted trajectories, each ``per_block`` describe batches long."""
    order: list[Rejection | int] = []
    blocks: list[list[Trajectory]] = []
    current: list[Trajectory] = []
    size = collector.describe_batch_size
    on_reject, collector.on_reject = collector.on_reject, order.append
    try:
        for event in events:
            if type(event) is Rejection:
                order.append(event)
            elif collector._passes(event):
                current.append(collector.redactor.redact(event))
                if len(current) % size == 0:
                    order.append(len(blocks) * per_block + len(current) // size - 1)
                    if len(current) == size * per_block:
                        blocks.append(current)
                        current = []
    finally:
        collector.on_reject = on_reject
    if current:
        full = len(current) // size
        if len(current) % size:
            order.append(len(blocks) * per_block + full)
        blocks.append(current)
    return order, blocks


def _described(
    ray: Any, collector: Any, pipeline: Any, blocks: list[list[Trajectory]]
) -> tuple[list[_Block], RayStage]:
    """Each block's results, in block order, from one ``Dataset.map`` over the blocks, and what the
    stage cost."""
    engine = pipeline.engine
    settings = {"describe_batch_size": collector.describe_batch_size, "max_result_chars": collector.max_result_chars}
    rows = [{"index": i, "trajectories": pickle.dumps(block, pickle.HIGHEST_PROTOCOL)}  # records: plain pickle
            for i, block in enumerate(blocks)]
    dataset = ray.data.from_items(rows, override_num_blocks=len(rows))  # copied into Ray's object store
    del rows
    mapped = dataset.map(
        _describe_block(_shipped(pipeline), settings),
        ray_remote_args_fn=lambda: {"max_retries": engine.max_retries, "retry_exceptions": False},
    )
    started = time.perf_counter()  # the map is lazy: take_all ships, runs and collects
    try:
        rows = mapped.take_all()
    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.OutOfMemoryError) as exc:
        attempts = engine.max_retries + 1
        raise EngineError(
            f'[engine] name = "ray": a task\'s worker died on each of its {attempts} attempt'
            f'{"s" if attempts > 1 else ""} ([engine] max_retries = {engine.max_retries}), so the run stopped; '
            f"raise max_retries, or see why the workers die ({type(exc).__name__})") from exc
    results = {row["index"]: pickle.loads(row["block"]) for row in rows}
    wall = time.perf_counter() - started
    collector.describe_seconds += wall  # the Ray stage's wall time
    stage = RayStage(len(rows), round(sum(row["cpu_s"] for row in rows), 3), round(wall, 3),
                     ray.cluster_resources().get("CPU", 0.0))
    return [results[i] for i in range(len(blocks))], stage


async def ray_examples(
    collector: Any, pipeline: Any, events: Iterable[Trajectory | Rejection]
) -> tuple[list[TrainingExample], RayStage]:
    """The examples of the grouped ``events``, described in Ray tasks, with the collector's
    rejections, counts and catalogue as its own ``stream_grouped`` leaves them, and what the Ray
    stage cost (no tasks, no figures but the CPUs, when nothing was kept). Joins the Ray
    instance already started in this process, else ``[engine] address``'s cluster, else starts a
    local one of ``num_cpus`` CPUs (and shuts down what it started)."""
    ray = ray_module()
    engine = pipeline.engine
    require_shippable(pipeline)
    started = not ray.is_initialized()
    if started:
        cpus = {"num_cpus": engine.num_cpus} if engine.address is None else {}
        ray.init(address=engine.address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 **cpus)
    try:
        order, blocks = _blocks(collector, events, engine.batches_per_task)
        if blocks:
            results, stage = _described(ray, collector, pipeline, blocks)
        else:
            results, stage = [], RayStage(0, 0.0, 0.0, ray.cluster_resources().get("CPU", 0.0))
    finally:
        if started:
            ray.shutdown()
    batches = [(*batch, block) for block, result in zip(blocks, results) for batch in result.batches]
    examples: list[TrainingExample] = []
    for event in order:
        if type(event) is int:
            rejections, made, observed, block = batches[event]
            for rejection in rejections:
                collector.on_reject(rejection)
            for place in observed:
                collector.catalogue.observe(block[place])
            collector.counts["examples"] += len(made)
            examples.extend(made)
        else:
            collector.on_reject(event)
    collector.examples = collector._with_catalogue(examples)
    return collector.examples, stage
