"""Phase 2, the whole stage: ColdStartTrainer (the guide's orchestrator) and run_deepeyesv2_sft.

The trainer runs a :class:`~deepeyes_core.pipeline.Pipeline` (the components and settings, built
and checked once) and keeps what the run produces in a :class:`RunRecord`. Each stage is announced
through the run-event hooks (see :mod:`deepeyes_core.events`).
"""

from __future__ import annotations

import enum
import logging
import platform
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import attrs

from .baseline import BaselineTracker
from .collector import TrajectoryCollector, cyclic_gc_paused
from .columnar.choice import EngineChoice, choose_engine
from .components import Exporter, SourceItem, Splitter, TrainingBackend, TrainingRun
from .contamination import Nearest, measure_overlap
from .dataset import SFTDataset, format_rejections
from .dedup import deduplicate
from .errors import DatasetError
from .events import STREAMED_STAGES, RunFinished, RunInfo, StageFinished, StageStarted
from .io import RejectsLog, atomic_json, atomic_jsonl
from .leakage import DEFINITION as LEAKAGE_DEFINITION
from .leakage import THRESHOLD as LEAKAGE_THRESHOLD
from .pipeline import DEFAULT_OUTPUT_DIR, Pipeline
from .plugins import PluginManager
from .records import Rejection, converter
from .report_html import write_html_report
from .routing import RL_POOL_FILE, routing_stats, write_rl_pool
from .runfolder import RunFolder
from .settings import COLLECTOR, TRAINER, CollectorSettings, TrainerSettings

log = logging.getLogger(__name__)

_T = TypeVar("_T")

#: Each val and test example's nearest train example at or above the near-duplicate threshold (null
#: below it) and its similarity, one JSON line each.
CONTAMINATION_FILE = "contamination.jsonl"

TROUBLESHOOTING = (
    "Check baseline data quality and quantity",
    "Lower quality_threshold to include more trajectories",
    "Ensure Phase 1 collected sufficient diverse invocations",
)


class RunStatus(enum.StrEnum):
    CREATED = "created"
    PREPARED = "prepared"
    INSUFFICIENT_DATA = "insufficient_data"
    COMPLETED = "completed"


@attrs.define(slots=True)
class RunRecord:
    """What a run has produced so far, filled in stage by stage."""

    status: RunStatus = RunStatus.CREATED
    message: str = ""
    dataset_stats: dict[str, Any] | None = None
    dedup: dict[str, int] | None = None
    leakage: dict[str, int] | None = None
    #: Each val and test example's nearest train example at or above the near-duplicate threshold
    #: (after decontamination, if it ran).
    nearest: dict[str, list[Nearest]] = attrs.field(factory=dict)
    contamination: dict[str, Any] | None = None
    #: The ``route`` stage's counts and settings (``dataset_stats.json``'s ``routing``); None: no router.
    routing: dict[str, Any] | None = None
    files: dict[str, Path] = attrs.field(factory=dict)
    training: TrainingRun | None = None
    evaluation: dict[str, Any] | None = None
    #: Phase 1 per-tool success rates (context for the report).
    phase1: dict[str, float] = attrs.field(factory=dict)
    timings: dict[str, float] = attrs.field(factory=dict)
    report_file: Path | None = None
    #: The engine that read, grouped and filtered (row or columnar), and why.
    engine: EngineChoice | None = None


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def _timed(items: Iterable[_T], clock: list[float]) -> Iterator[_T]:
    """``items``, adding the time spent producing each one to ``clock[0]``."""
    iterator, now = iter(items), time.perf_counter
    while True:
        started = now()
        try:
            item = next(iterator)
        except StopIteration:
            clock[0] += now() - started
            return
        clock[0] += now() - started
        yield item


class ColdStartTrainer:
    """Orchestrates Phase 2: prepare data, train through a backend, evaluate, report.

    Made directly with the guide's arguments (and, optionally, components: ``backend``,
    ``collector``, ``splitter``, ``exporters``; the pipeline's defaults for the rest), or from a
    built pipeline with :meth:`from_pipeline` (what ``deepeyes run`` does). Everything is
    written under ``output_dir``.
    """

    def __init__(
        self,
        output_dir: Path | str = DEFAULT_OUTPUT_DIR,
        model_id: str = TRAINER.model_id,
        epochs: int = TRAINER.epochs,
        learning_rate: float = TRAINER.learning_rate,
        batch_size: int = TRAINER.batch_size,
        quality_threshold: float = COLLECTOR.quality_threshold,
        min_examples: int = TRAINER.min_examples,
        *,
        backend: TrainingBackend | None = None,
        collector: TrajectoryCollector | None = None,
        splitter: Splitter | None = None,
        exporters: Iterable[Exporter] | None = None,
        plugins: PluginManager | None = None,
        on_progress: Callable[[str, int, int | None], None] | None = None,
    ):
        pipeline = Pipeline.assemble(
            plugins=plugins,
            backend=backend,
            splitter=splitter,
            exporters=exporters,
            describer=collector.describer if collector else None,
            classifier=collector.classifier if collector else None,
            redactor=collector.redactor if collector else None,
            collector=collector.settings if collector else CollectorSettings(quality_threshold=quality_threshold),
            trainer=TrainerSettings(model_id, epochs, learning_rate, batch_size, min_examples),
            output_dir=Path(output_dir),
        )
        self._start(pipeline, collector, on_progress)

    @classmethod
    def from_pipeline(
        cls,
        pipeline: Pipeline,
        on_progress: Callable[[str, int, int | None], None] | None = None,
    ) -> ColdStartTrainer:
        """The trainer that runs a built pipeline."""
        trainer = cls.__new__(cls)
        trainer._start(pipeline, None, on_progress)
        return trainer

    def _start(
        self,
        pipeline: Pipeline,
        collector: TrajectoryCollector | None,
        on_progress: Callable[[str, int, int | None], None] | None,
    ) -> None:
        self.pipeline = pipeline
        self.output_dir = pipeline.output_dir
        self.settings = pipeline.training_settings
        self.on_progress = on_progress
        read_progress = (lambda n: on_progress("read", n, None)) if on_progress else None
        self.collector = collector or TrajectoryCollector.from_pipeline(pipeline, on_progress=read_progress)
        self._write_into(self.output_dir)
        self.dataset: SFTDataset | None = None
        self.record = RunRecord()
        self.run_info = RunInfo(uuid.uuid4().hex, str(self.output_dir), pipeline.config)

    def _write_into(self, folder: Path) -> None:
        """Write the run's files into ``folder`` (``output_dir``, or a run folder's staging)."""
        #: Where files are written now; they are reported at their place under ``output_dir``.
        self.write_dir = folder
        self.rejects = RejectsLog(folder / "rejects.jsonl")
        self.collector.on_reject = self.rejects.add

    def _final(self, path: Path) -> Path:
        """Where a written file lies once the run is committed."""
        path = Path(path)
        return self.output_dir / path.relative_to(self.write_dir) if path.is_relative_to(self.write_dir) else path

    # -- what the guide's examples read ------------------------------------------------------

    @property
    def backend(self) -> TrainingBackend:
        return self.pipeline.backend

    @property
    def status(self) -> RunStatus:
        return self.record.status

    @property
    def message(self) -> str:
        return self.record.message

    @property
    def training(self) -> TrainingRun | None:
        return self.record.training

    @property
    def evaluation(self) -> dict[str, Any] | None:
        return self.record.evaluation

    @property
    def phase1(self) -> dict[str, float]:
        return self.record.phase1

    # -- events --------------------------------------------------------------------------------

    def _started(self, stage: str) -> None:
        self.pipeline.plugins.hook.deepeyes_stage_started(
            event=StageStarted(stage, self.run_info), stage=stage, context=self._context()
        )

    def _finished(self, stage: str, seconds: float, summary: dict[str, Any]) -> None:
        self.record.timings[stage] = round(seconds, 3)
        event = StageFinished(stage, self.run_info, self.record.timings[stage], summary)
        self.pipeline.plugins.hook.deepeyes_stage_finished(
            event=event, stage=stage, context=self._context(), summary={"seconds": event.seconds, **summary}
        )

    def _context(self) -> dict[str, Any]:
        """What the hook API 1 events carried (deprecated arguments)."""
        return {"output_dir": str(self.output_dir), "config": dict(self.pipeline.config)}

    async def _stage(self, stage: str, work: Awaitable[_T], summary: Callable[[_T], dict[str, Any]]) -> _T:
        self._started(stage)
        started = time.perf_counter()
        result = await work
        self._finished(stage, time.perf_counter() - started, summary(result))
        return result

    # -- the guide's methods -----------------------------------------------------------------

    async def prepare_training_data(
        self, baseline_tracker: BaselineTracker | Iterable[SourceItem]
    ) -> SFTDataset:
        """Collect, filter, describe and classify; dedup; split, balance and export; write
        dataset_stats.json.

        With fewer examples than ``min_examples`` the status becomes ``insufficient_data`` and the
        message gives the guide's troubleshooting advice; nothing is split or exported.
        """
        # Not gc.freeze() (1 s faster at 1M calls): freezing and unfreezing is process-wide state a
        # library must not touch; an application's own frozen objects (a pre-fork server's) would thaw.
        with cyclic_gc_paused():
            return await self._prepare(baseline_tracker)

    async def _prepare(self, baseline_tracker: BaselineTracker | Iterable[SourceItem]) -> SFTDataset:
        record = self.record
        if isinstance(baseline_tracker, BaselineTracker):
            for rejection in baseline_tracker.load_errors:
                self.rejects.add(rejection)
            record.phase1 = baseline_tracker.get_tool_success_rates()
            items: Iterable[SourceItem] = baseline_tracker.invocations
        else:
            items = baseline_tracker
        examples = await self._streamed_pass(items)
        if not record.phase1:
            record.phase1 = self.collector.tool_success_rates()
        dedup = await self._stage("dedup", self._deduplicate(examples), lambda d: dict(d.stats))
        examples, record.dedup = dedup.kept, dedup.stats
        known_keys = dict(zip(map(id, dedup.kept), dedup.calls_keys))  # dedup.kept keeps the ids alive
        examples = await self._stage("check", self._check_formats(examples), lambda kept: {"examples": len(kept)})
        if self.pipeline.router is not None:
            examples = await self._stage("route", self._route(examples), lambda _: dict(record.routing or {}))
        self.dataset = SFTDataset(
            examples,
            self.pipeline.dataset.train_ratio,
            self.pipeline.dataset.val_ratio,
            self.pipeline.dataset.test_ratio,
            self.pipeline.dataset.random_seed,
            splitter=self.pipeline.splitter,
            output_dir=self.write_dir,
            prompt_layout=self.settings.prompt_layout,
            calls_keys=[known_keys.get(id(example)) for example in examples],
        )
        del known_keys, dedup  # its lists (kept, rejections, keys) are not needed any more
        min_examples = self.pipeline.trainer.min_examples
        if len(examples) < min_examples:
            record.status = RunStatus.INSUFFICIENT_DATA
            record.message = (
                f"{len(examples)} training examples, fewer than min_examples={min_examples}. "
                + "; ".join(TROUBLESHOOTING) + "."
            )
            log.warning(record.message)
            record.dataset_stats = {"total_examples": len(examples), **self._pipeline_stats()}
            atomic_json(self.write_dir / "dataset_stats.json", record.dataset_stats)
            self.rejects.close()
            return self.dataset
        await self._stage("split", self._split_and_balance(), lambda _: dict(self.dataset.split_sizes))
        record.files = await self._stage(
            "export", self.dataset.export_all_splits(self.pipeline.exporters), lambda files: {"files": len(files)}
        )
        record.files["contamination"] = self.write_dir / CONTAMINATION_FILE
        if record.routing is not None:
            record.files["rl_pool"] = self.write_dir / RL_POOL_FILE
        record.dataset_stats = {**await self.dataset.get_dataset_stats(), **self._pipeline_stats()}
        atomic_json(self.write_dir / "dataset_stats.json", record.dataset_stats)
        self.rejects.close()
        record.status = RunStatus.PREPARED
        return self.dataset

    async def _streamed_pass(self, items: Iterable[SourceItem]) -> list:
        """read, collect and describe: one pass over the logs (see :mod:`deepeyes_core.events`)."""
        for stage in STREAMED_STAGES:
            self._started(stage)
        reading = [0.0]
        started = time.perf_counter()
        self.record.engine = choose_engine(self.pipeline, items)
        if self.record.engine.name == "columnar":
            from .columnar.engine import grouped_events, read_batches

            batches = _timed(read_batches(self.pipeline, self.collector.on_progress), reading)
            examples = await self.collector.stream_grouped(grouped_events(self.collector, batches))
        elif self.record.engine.name == "ray":
            from .columnar.engine import grouped_events, read_batches
            from .columnar.ray_engine import ray_examples

            batches = _timed(read_batches(self.pipeline, self.collector.on_progress), reading)
            with cyclic_gc_paused():
                examples, ray_stage = await ray_examples(
                    self.collector, self.pipeline, grouped_events(self.collector, batches)
                )
            self.record.engine = attrs.evolve(self.record.engine, ray=ray_stage)
        else:
            examples = await self.collector.stream_examples(_timed(items, reading))
        total = time.perf_counter() - started
        counts = self.collector.counts
        describing = self.collector.describe_seconds
        self._finished("read", reading[0], {"records": counts["invocations"]})
        self._finished(
            "collect", max(total - reading[0] - describing, 0.0),
            {"trajectories": counts["trajectories"], "kept": counts["kept"]},
        )
        self._finished("describe", describing, {"examples": len(examples)})
        return examples

    async def _deduplicate(self, examples: list):
        dedup = deduplicate(examples)
        for rejection in dedup.rejections:
            self.rejects.add(rejection)
        return dedup

    async def _check_formats(self, examples: list) -> list:
        kept, rejected = format_rejections(examples, self.pipeline.exporters, self.settings.prompt_layout)
        for rejection in rejected:
            self.rejects.add(rejection)
        return kept

    async def _route(self, examples: list) -> list:
        """The router's routes: the RL pool to ``rl_pool.jsonl``, the dropped to the rejects, SFT kept."""
        router = self.pipeline.router
        routes = await router.route(examples, self.backend, self.settings)
        routed = len(routes.sft) + len(routes.rl_pool) + len(routes.rejected)
        if routed != len(examples):
            raise DatasetError(f"router {router.name!r} routed {routed} of {len(examples)} examples")
        for _, rejection in routes.rejected:
            self.rejects.add(rejection)
        write_rl_pool(self.write_dir / RL_POOL_FILE, routes.rl_pool, self.settings.prompt_layout)
        self.record.routing = routing_stats(router.name, routes)
        return [item.example for item in routes.sft]

    async def _split_and_balance(self) -> None:
        await self.dataset.split_data()
        self.dataset.balance_dataset()
        self._measure_contamination()

    def _measure_contamination(self) -> None:
        """Each val/test example's nearest train example at or above the near-duplicate threshold,
        written to ``contamination.jsonl``; with
        ``decontaminate``, the near-duplicates of train leave val and test (rejected, counted). The
        leakage count is made in the same pass (:func:`~deepeyes_core.contamination.measure_overlap`)."""
        settings, splits = self.pipeline.evaluation, self.dataset.splits
        threshold = settings.near_duplicate_threshold
        train = splits["train"]
        counts: dict[str, Any] = {"threshold": threshold, "decontaminate": settings.decontaminate}
        rows = []
        held_out, self.record.leakage = measure_overlap(splits, threshold, settings.decontaminate)
        for split, nearest in (("val", held_out[:len(splits["val"])]), ("test", held_out[len(splits["val"]):])):
            near = [n.at_least(threshold) for n in nearest]
            counts[split] = {"clean": near.count(False), "near_duplicate": near.count(True)}
            if settings.decontaminate and any(near):
                for example, hit, dropped in zip(splits[split], nearest, near):
                    if dropped:
                        self.rejects.add(Rejection(
                            "near-duplicate of train",
                            f"{split} example {example.task_id!r} is {hit.similarity:.2f} similar to train example "
                            f"{train[hit.train_index].task_id!r} (threshold {threshold:g}; decontaminate = true)",
                            example.locations, example.sequence_length, stage="split"))
                splits[split] = [e for e, dropped in zip(splits[split], near) if not dropped]
                nearest = [n for n, dropped in zip(nearest, near) if not dropped]
                counts[split]["removed"] = near.count(True)
            self.record.nearest[split] = nearest
            rows += [{"split": split, "task_id": e.task_id,
                      "nearest_train": None if n.train_index is None else train[n.train_index].task_id,
                      "similarity": None if n.similarity is None else round(n.similarity, 6),
                      "near_duplicate": n.at_least(threshold)}
                     for e, n in zip(splits[split], nearest)]
        self.record.contamination = counts
        atomic_jsonl(self.write_dir / CONTAMINATION_FILE, rows)

    def _pipeline_stats(self) -> dict[str, Any]:
        usage = getattr(self.collector.describer, "usage", None)
        leakage = self.record.leakage
        return {
            "pipeline": dict(self.collector.counts),
            "redaction": self.collector.redactor.stats(),
            "dedup": self.record.dedup,
            "contamination": self.record.contamination,
            "leakage": None if leakage is None else {
                "splitter": self.dataset.splitter.name,
                "definition": LEAKAGE_DEFINITION.format(threshold=LEAKAGE_THRESHOLD),
                "near_duplicate_pairs": leakage,
            },
            "describer_usage": converter.unstructure(usage) if usage is not None else None,
            "rejects": self.rejects.summary(),
            "balance": self.dataset.balance_report if self.dataset else None,
            **({"routing": self.record.routing} if self.record.routing is not None else {}),
        }

    async def generate_prompts(self) -> list[dict[str, Any]]:
        """The train split as Claude Messages requests (shared system block with cache_control).

        The guide's method, kept in core because the guide names it here; it builds each record
        with the guide's ``TrainingExample.to_training_format``. The ``anthropic-messages`` exporter
        writes the full Claude format (tools, tool_use blocks) to files."""
        self._require_prepared()
        return [example.to_training_format(self.settings.prompt_layout) for example in self.dataset.splits["train"]]

    async def train_model(self, epochs: int | None = None) -> dict[str, Any]:
        """Train through the backend on train (val for validation); returns the TrainingRun as a dict.

        With too little data nothing is trained, and the run says why."""
        if self._insufficient():
            self.record.training = TrainingRun(backend=self.backend.name, trained=False, reason=self.message)
            return converter.unstructure(self.record.training)
        if epochs is not None:
            self.settings = attrs.evolve(self.settings, epochs=epochs)
        progress = None
        if self.on_progress is not None:
            progress = lambda done, total: self.on_progress("train", done, total)  # noqa: E731
        splits = self.dataset.splits
        self.record.training = await self._stage(
            "train",
            self.backend.train(splits["train"], splits["val"], self.settings, self.output_dir / "model", progress),
            lambda run: {"trained": run.trained, "steps": run.total_steps},
        )
        return converter.unstructure(self.record.training)

    async def evaluate_improvement(self) -> dict[str, Any]:
        """Base model and trained model on the same held-out test prompts, scored; the guide's keys."""
        from .evaluation import MatchOptions, evaluate_improvement

        if self._insufficient():
            return self._evaluation_or_not_measured()
        self.record.evaluation = await self._stage(
            "evaluate",
            evaluate_improvement(
                self.backend,
                self.dataset.splits["test"],
                prompt_layout=self.settings.prompt_layout,
                readiness_threshold=self.pipeline.trainer.readiness_threshold,
                phase1_success_rates=self.record.phase1,
                train=self.dataset.splits["train"],
                settings=self.pipeline.evaluation,
                nearest=self.record.nearest.get("test"),
                options=MatchOptions(mode=self.pipeline.evaluation.matching),
            ),
            lambda ev: {"status": ev["status"]},
        )
        return self.record.evaluation

    async def export_training_report(self) -> Path:
        """Write ``training_report_YYYYMMDD_HHMMSS.json`` and the same report as a self-contained
        HTML page beside it (both atomically); return the JSON's path."""
        self._started("report")
        started = time.perf_counter()
        stamp = datetime.now(timezone.utc)
        name = f"training_report_{stamp:%Y%m%d_%H%M%S}.json"
        self.record.report_file = path = self.output_dir / name
        self._report = report = self.report(stamp)
        atomic_json(self.write_dir / name, report)
        write_html_report(report, (self.write_dir / name).with_suffix(".html"))
        self._finished("report", time.perf_counter() - started, {"file": str(path)})
        if self.write_dir == self.output_dir:  # else run_full_pipeline announces it once committed
            self._announce(report)
        return path

    def _announce(self, report: dict[str, Any]) -> None:
        event = RunFinished(self.run_info, str(self.status), report, str(self.record.report_file))
        self.pipeline.plugins.hook.deepeyes_run_finished(event=event, report=report)

    async def run_full_pipeline(self, baseline_tracker: BaselineTracker | Iterable[SourceItem]) -> dict[str, Any]:
        """prepare -> train -> evaluate -> report, with the guide's result keys.

        The run's files are one unit (:class:`~deepeyes_core.runfolder.RunFolder`): written into a
        staging folder under ``output_dir`` and swapped in whole when the run ends, with a
        manifest written last; a run that fails leaves the previous run's files as they were, and
        a second run into the same folder meanwhile is refused. (The guide's steps called one by
        one write into ``output_dir`` directly.)"""
        with RunFolder(self.output_dir, self.run_info.run_id) as folder:
            self._write_into(folder.staging)
            with self.rejects:
                await self.prepare_training_data(baseline_tracker)
                if self.status is RunStatus.PREPARED:
                    await self.train_model()
                    await self.evaluate_improvement()
                    self.record.status = RunStatus.COMPLETED
                await self.export_training_report()
        self._announce(self._report)
        return self.result()

    # -- results -------------------------------------------------------------------------------

    def _insufficient(self) -> bool:
        if self.status is RunStatus.INSUFFICIENT_DATA:
            return True
        self._require_prepared()
        return False

    def _require_prepared(self) -> None:
        if self.dataset is None or not self.dataset.splits:
            raise RuntimeError(
                "no prepared dataset: call prepare_training_data() first"
                + (f" ({self.message})" if self.message else "")
            )

    def _evaluation_or_not_measured(self) -> dict[str, Any]:
        if self.record.evaluation is not None:
            return self.record.evaluation
        reason = self.message or "evaluation did not run"
        return {
            "status": "not measured",
            "reason": reason,
            "baseline_success_rate": None,
            "post_training_success_rate": None,
            "improvement_pct": None,
            "relative_improvement_pct": None,
            "readiness_for_rl": False,
            "readiness_reason": reason,
            "tool_improvements": {},
        }

    def report(self, stamp: datetime | None = None) -> dict[str, Any]:
        stamp = stamp or datetime.now(timezone.utc)
        record = self.record
        settings = converter.unstructure(self.settings)
        return {
            "generated_at": stamp.isoformat(),
            "status": str(record.status),
            "message": record.message,
            "config": dict(self.pipeline.config)
            or {"settings": settings, "quality_threshold": self.pipeline.collector.quality_threshold,
                "min_examples": self.pipeline.trainer.min_examples},
            "settings": settings,
            "backend": self.backend.name,
            "engine": converter.unstructure(record.engine) if record.engine else None,
            "dataset_stats": record.dataset_stats,
            "rejects": self.rejects.summary(),
            "training": converter.unstructure(record.training) if record.training else None,
            "evaluation": self._evaluation_or_not_measured(),
            "phase1_baseline": {"tool_success_rates": record.phase1},
            "files": {key: str(self._final(path)) for key, path in record.files.items()},
            "timings_s": record.timings,
            "versions": {
                "deepeyes": _version("deepeyes"),
                "python": platform.python_version(),
                **(record.training.library_versions if record.training else {}),
            },
        }

    def result(self) -> dict[str, Any]:
        """The guide's return value of run_deepeyesv2_sft."""
        record = self.record
        return {
            "status": str(record.status),
            "message": record.message,
            "training_examples_count": len(self.dataset.training_examples) if self.dataset else 0,
            "splits": dict(self.dataset.split_sizes) if self.dataset else {},
            "dataset_stats": record.dataset_stats,
            "training": converter.unstructure(record.training) if record.training else None,
            "evaluation": self._evaluation_or_not_measured(),
            "report_file": str(record.report_file) if record.report_file else None,
            "files": {key: str(self._final(path)) for key, path in record.files.items()},
            "rejects_file": str(self._final(self.rejects.path)),
            "engine": converter.unstructure(record.engine) if record.engine else None,
        }


async def run_deepeyesv2_sft(
    baseline_tracker: BaselineTracker | Iterable[SourceItem],
    quality_threshold: float = COLLECTOR.quality_threshold,
    output_dir: Path | str = DEFAULT_OUTPUT_DIR,
    **trainer_options: Any,
) -> dict[str, Any]:
    """Phase 2 in one call: ``ColdStartTrainer(...).run_full_pipeline(baseline_tracker)``."""
    trainer = ColdStartTrainer(output_dir=output_dir, quality_threshold=quality_threshold, **trainer_options)
    return await trainer.run_full_pipeline(baseline_tracker)
