"""Phase 2, the whole stage: ColdStartTrainer (the guide's orchestrator) and run_deepeyesv2_sft."""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from .baseline import BaselineTracker
from .collector import TrajectoryCollector, cyclic_gc_paused
from .components import SourceItem, Splitter, TrainingBackend, TrainingRun, TrainingSettings
from .dataset import SFTDataset
from .dedup import deduplicate
from .leakage import DEFINITION as LEAKAGE_DEFINITION
from .leakage import THRESHOLD as LEAKAGE_THRESHOLD
from .leakage import cross_split_near_duplicates
from .io import RejectsLog, atomic_json
from .plugins import PluginManager, get_plugin_manager
from .records import converter
from .report_html import write_html_report

log = logging.getLogger(__name__)

#: The guide's default model id was retired on 2026-02-19; this is the Haiku of record.
DEFAULT_MODEL_ID = "claude-haiku-4-5"

TROUBLESHOOTING = (
    "Check baseline data quality and quantity",
    "Lower quality_threshold to include more trajectories",
    "Ensure Phase 1 collected sufficient diverse invocations",
)


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


class ColdStartTrainer:
    """Orchestrates Phase 2: prepare data, train through a backend, evaluate, report.

    ``backend`` is a training backend component (default: the ``dry-run`` backend, which trains
    nothing). Everything is written under ``output_dir``.
    """

    def __init__(
        self,
        output_dir: Path | str = Path("logs/deepeyesv2/sft"),
        model_id: str = DEFAULT_MODEL_ID,
        epochs: int = 3,
        learning_rate: float = 0.001,
        batch_size: int = 8,
        quality_threshold: float = 0.90,
        min_examples: int = 100,
        *,
        backend: TrainingBackend | None = None,
        collector: TrajectoryCollector | None = None,
        splitter: Splitter | None = None,
        dataset_options: dict[str, Any] | None = None,
        exporters: Sequence[Any] = (),
        prompt_layout: str = "catalogue",
        readiness_threshold: float = 0.85,
        seed: int = 42,
        plugins: PluginManager | None = None,
        config: dict[str, Any] | None = None,
        on_progress: Callable[[str, int, int | None], None] | None = None,
    ):
        self.output_dir = Path(output_dir)
        self.settings = TrainingSettings(model_id, epochs, learning_rate, batch_size, seed, prompt_layout)
        self.quality_threshold = quality_threshold
        self.min_examples = min_examples
        self.plugins = plugins or get_plugin_manager()
        self.backend = backend or self.plugins.build("training_backend", "dry-run")
        self.rejects = RejectsLog(self.output_dir / "rejects.jsonl")
        self.collector = collector or TrajectoryCollector(quality_threshold=quality_threshold)
        self.collector.on_reject = self.rejects.add
        self.splitter = splitter
        self.dataset_options = dataset_options or {}
        self.exporters = list(exporters)
        self.readiness_threshold = readiness_threshold
        self.config = config or {}
        self.on_progress = on_progress
        self.dataset: SFTDataset | None = None
        self.dataset_stats: dict[str, Any] | None = None
        self.dedup_stats: dict[str, int] | None = None
        self.leakage: dict[str, int] | None = None
        self.files: dict[str, Path] = {}
        self.training: TrainingRun | None = None
        self.evaluation: dict[str, Any] | None = None
        self.phase1: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.status = "created"
        self.message = ""
        self.report_file: Path | None = None

    # -- events --------------------------------------------------------------------------------

    def _context(self) -> dict[str, Any]:
        return {"output_dir": str(self.output_dir), "config": self.config}

    async def _stage(self, stage: str, work, summary: Callable[[Any], dict[str, Any]] = lambda _: {}):
        self.plugins.hook.deepeyes_stage_started(stage=stage, context=self._context())
        started = time.perf_counter()
        result = await work
        self.timings[stage] = round(time.perf_counter() - started, 3)
        self.plugins.hook.deepeyes_stage_finished(
            stage=stage, context=self._context(), summary={"seconds": self.timings[stage], **summary(result)}
        )
        return result

    # -- the guide's methods -----------------------------------------------------------------

    async def prepare_training_data(
        self, baseline_tracker: BaselineTracker | Iterable[SourceItem]
    ) -> SFTDataset:
        """Collect, filter, describe and classify; split, balance and export; write dataset_stats.json.

        With fewer examples than ``min_examples`` the status becomes ``insufficient_data`` and the
        message gives the guide's troubleshooting advice; nothing is split or exported.
        """
        # Not gc.freeze() (1 s faster at 1M calls): freezing and unfreezing is process-wide state a
        # library must not touch; an application's own frozen objects (a pre-fork server's) would thaw.
        with cyclic_gc_paused():
            return await self._prepare(baseline_tracker)

    async def _prepare(self, baseline_tracker: BaselineTracker | Iterable[SourceItem]) -> SFTDataset:
        if isinstance(baseline_tracker, BaselineTracker):
            for rejection in baseline_tracker.load_errors:
                self.rejects.add(rejection)
            self.phase1 = baseline_tracker.get_tool_success_rates()
            items: Iterable[SourceItem] = baseline_tracker.invocations
        else:
            items = baseline_tracker
        examples = await self._stage(
            "collect", self.collector.stream_examples(items), lambda ex: {"examples": len(ex), **self.collector.counts}
        )
        if not self.phase1:
            self.phase1 = self.collector.tool_success_rates()
        dedup = deduplicate(examples)
        for rejection in dedup.rejections:
            self.rejects.add(rejection)
        examples, self.dedup_stats = dedup.kept, dedup.stats
        self.dataset = SFTDataset(
            examples, **self.dataset_options, splitter=self.splitter, output_dir=self.output_dir,
            prompt_layout=self.settings.prompt_layout,
        )
        if len(examples) < self.min_examples:
            self.status = "insufficient_data"
            self.message = (
                f"{len(examples)} training examples, fewer than min_examples={self.min_examples}. "
                + "; ".join(TROUBLESHOOTING) + "."
            )
            log.warning(self.message)
            self.dataset_stats = {"total_examples": len(examples), **self._pipeline_stats()}
            atomic_json(self.output_dir / "dataset_stats.json", self.dataset_stats)
            self.rejects.close()
            return self.dataset
        await self._stage("split", self._split_and_balance(), lambda _: dict(self.dataset.split_sizes))
        self.files = await self._stage(
            "export", self.dataset.export_all_splits(self.exporters), lambda files: {"files": len(files)}
        )
        self.dataset_stats = {**await self.dataset.get_dataset_stats(), **self._pipeline_stats()}
        atomic_json(self.output_dir / "dataset_stats.json", self.dataset_stats)
        self.rejects.close()
        self.status = "prepared"
        return self.dataset

    async def _split_and_balance(self) -> None:
        await self.dataset.split_data()
        await self.dataset.balance_dataset()
        self.leakage = cross_split_near_duplicates(self.dataset.splits)

    def _pipeline_stats(self) -> dict[str, Any]:
        usage = getattr(self.collector.describer, "usage", None)
        return {
            "pipeline": dict(self.collector.counts),
            "redaction": self.collector.redactor.stats(),
            "dedup": self.dedup_stats,
            "leakage": None if self.leakage is None else {
                "splitter": self.dataset.splitter.name,
                "definition": LEAKAGE_DEFINITION.format(threshold=LEAKAGE_THRESHOLD),
                "near_duplicate_pairs": self.leakage,
            },
            "describer_usage": converter.unstructure(usage) if usage is not None else None,
            "rejects": self.rejects.summary(),
            "balance": self.dataset.balance_report if self.dataset else None,
        }

    async def generate_prompts(self) -> list[dict[str, Any]]:
        """The train split as Claude Messages requests (shared system block with cache_control)."""
        self._require_prepared()
        return [example.to_training_format(self.settings.prompt_layout) for example in self.dataset.splits["train"]]

    async def train_model(self, epochs: int | None = None) -> dict[str, Any]:
        """Train through the backend on train (val for validation); returns the TrainingRun as a dict.

        With too little data nothing is trained, and the run says why."""
        if self._insufficient():
            self.training = TrainingRun(backend=self.backend.name, trained=False, reason=self.message)
            return converter.unstructure(self.training)
        if epochs is not None:
            self.settings = attrs.evolve(self.settings, epochs=epochs)
        workdir = self.output_dir / "model"
        progress = None
        if self.on_progress is not None:
            progress = lambda done, total: self.on_progress("train", done, total)  # noqa: E731
        self.training = await self._stage(
            "train",
            self.backend.train(self.dataset.splits["train"], self.dataset.splits["val"], self.settings, workdir, progress),
            lambda run: {"trained": run.trained, "steps": run.total_steps},
        )
        return converter.unstructure(self.training)

    async def evaluate_improvement(self) -> dict[str, Any]:
        """Base model and trained model on the same held-out test prompts, scored; the guide's keys."""
        from .evaluation import evaluate_improvement

        if self._insufficient():
            return self._evaluation_or_not_measured()
        self.evaluation = await self._stage(
            "evaluate",
            evaluate_improvement(
                self.backend,
                self.dataset.splits["test"],
                prompt_layout=self.settings.prompt_layout,
                readiness_threshold=self.readiness_threshold,
                phase1_success_rates=self.phase1,
            ),
            lambda ev: {"status": ev["status"]},
        )
        return self.evaluation

    async def export_training_report(self) -> Path:
        """Write ``training_report_YYYYMMDD_HHMMSS.json`` and the same report as a self-contained
        HTML page beside it (both atomically); return the JSON's path."""
        stamp = datetime.now(timezone.utc)
        report = self.report(stamp)
        path = self.output_dir / f"training_report_{stamp:%Y%m%d_%H%M%S}.json"
        atomic_json(path, report)
        write_html_report(report, path.with_suffix(".html"))
        self.report_file = path
        self.plugins.hook.deepeyes_run_finished(report=report)
        return path

    async def run_full_pipeline(self, baseline_tracker: BaselineTracker | Iterable[SourceItem]) -> dict[str, Any]:
        """prepare -> train -> evaluate -> report, with the guide's result keys."""
        try:
            await self.prepare_training_data(baseline_tracker)
            if self.status == "prepared":
                await self.train_model()
                await self.evaluate_improvement()
                self.status = "completed"
            await self.export_training_report()
        finally:
            self.rejects.close()
        return self.result()

    # -- results -------------------------------------------------------------------------------

    def _insufficient(self) -> bool:
        if self.status == "insufficient_data":
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
        if self.evaluation is not None:
            return self.evaluation
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
        training = converter.unstructure(self.training) if self.training else None
        return {
            "generated_at": stamp.isoformat(),
            "status": self.status,
            "message": self.message,
            "config": self.config
            or {"settings": converter.unstructure(self.settings), "quality_threshold": self.quality_threshold,
                "min_examples": self.min_examples},
            "settings": converter.unstructure(self.settings),
            "backend": self.backend.name,
            "dataset_stats": self.dataset_stats,
            "rejects": self.rejects.summary(),
            "training": training,
            "evaluation": self._evaluation_or_not_measured(),
            "phase1_baseline": {"tool_success_rates": self.phase1},
            "files": {key: str(path) for key, path in self.files.items()},
            "timings_s": self.timings,
            "versions": {
                "deepeyes": _version("deepeyes"),
                "python": platform.python_version(),
                **(self.training.library_versions if self.training else {}),
            },
        }

    def result(self) -> dict[str, Any]:
        """The guide's return value of run_deepeyesv2_sft."""
        return {
            "status": self.status,
            "message": self.message,
            "training_examples_count": len(self.dataset.training_examples) if self.dataset else 0,
            "splits": dict(self.dataset.split_sizes) if self.dataset else {},
            "dataset_stats": self.dataset_stats,
            "training": converter.unstructure(self.training) if self.training else None,
            "evaluation": self._evaluation_or_not_measured(),
            "report_file": str(self.report_file) if self.report_file else None,
            "files": {key: str(path) for key, path in self.files.items()},
            "rejects_file": str(self.rejects.path),
        }


async def run_deepeyesv2_sft(
    baseline_tracker: BaselineTracker | Iterable[SourceItem],
    quality_threshold: float = 0.90,
    output_dir: Path | str = Path("logs/deepeyesv2/sft"),
    **trainer_options: Any,
) -> dict[str, Any]:
    """Phase 2 in one call: ``ColdStartTrainer(...).run_full_pipeline(baseline_tracker)``."""
    trainer = ColdStartTrainer(output_dir=output_dir, quality_threshold=quality_threshold, **trainer_options)
    return await trainer.run_full_pipeline(baseline_tracker)
