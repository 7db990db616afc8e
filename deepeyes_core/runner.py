"""The Python runner: a config in, the whole pipeline run, the guide's result out. The CLI wraps it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .collector import TrajectoryCollector
from .components import SourceItem
from .config import RunConfig, config_to_dict, load_config
from .io import expand_paths
from .plugins import PluginManager, get_plugin_manager
from .redaction import Redactor
from .trainer import ColdStartTrainer


def _resolve(path: str, base: Path) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else base / candidate


def build_trainer(
    config: RunConfig,
    base_dir: Path,
    plugins: PluginManager | None = None,
    output_dir: Path | None = None,
    progress: Any = None,
) -> tuple[ColdStartTrainer, Iterator[SourceItem]]:
    """Components built from the config (every option checked before any work starts), the
    trainer that runs them, and the stream of source items to feed it."""
    plugins = plugins or get_plugin_manager()
    sources = [
        (plugins.build("trajectory_source", s.name, s.options), expand_paths(s.paths, base_dir))
        for s in config.sources
    ]
    c = config.collector
    collector = TrajectoryCollector(
        c.quality_threshold,
        c.min_trajectory_length,
        c.max_trajectory_length,
        describer=plugins.build("task_describer", config.describer.name, config.describer.options),
        classifier=plugins.build("difficulty_classifier", config.classifier.name, config.classifier.options),
        redactor=Redactor(config.redaction),
        session_gap_seconds=c.session_gap_seconds,
        session_timeout_seconds=c.session_timeout_seconds,
        describe_batch_size=c.describe_batch_size,
        on_progress=(lambda n: progress("read", n, None)) if progress else None,
    )
    d, t = config.dataset, config.trainer
    trainer = ColdStartTrainer(
        output_dir=output_dir or _resolve(config.output_dir, base_dir),
        model_id=t.model_id,
        epochs=t.epochs,
        learning_rate=t.learning_rate,
        batch_size=t.batch_size,
        quality_threshold=c.quality_threshold,
        min_examples=t.min_examples,
        backend=plugins.build("training_backend", config.backend.name, config.backend.options),
        collector=collector,
        splitter=plugins.build("splitter", config.splitter.name, config.splitter.options),
        dataset_options={
            "train_ratio": d.train_ratio,
            "val_ratio": d.val_ratio,
            "test_ratio": d.test_ratio,
            "random_seed": d.random_seed,
        },
        exporters=[plugins.build("exporter", e.name, e.options) for e in config.exporters],
        prompt_layout=d.prompt_layout,
        readiness_threshold=t.readiness_threshold,
        seed=d.random_seed,
        plugins=plugins,
        config=config_to_dict(config),
        on_progress=progress,
    )

    def items() -> Iterator[SourceItem]:
        for source, paths in sources:
            yield from source.read(paths)

    return trainer, items()


async def run(
    config: RunConfig | Path | str,
    *,
    base_dir: Path | None = None,
    plugins: PluginManager | None = None,
    output_dir: Path | None = None,
    progress: Any = None,
    overrides: Iterable[str] = (),
) -> dict[str, Any]:
    """Run the pipeline a config describes and return the guide's result dict.

    ``config`` is a RunConfig or a TOML path; relative paths in it resolve against ``base_dir``
    (default: the config file's folder, or the current directory for a RunConfig); ``overrides``
    (``"trainer.epochs=2"``, ...) change a TOML config's values before it is read.
    """
    if not isinstance(config, RunConfig):
        path = Path(config)
        config = load_config(path, overrides)
        base_dir = base_dir or path.resolve().parent
    trainer, items = build_trainer(config, base_dir or Path.cwd(), plugins, output_dir, progress)
    return await trainer.run_full_pipeline(items)
