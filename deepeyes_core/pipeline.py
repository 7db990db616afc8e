"""The one place a config becomes a pipeline: components built, settings checked, paths resolved.

:class:`Pipeline` holds what a run needs and nothing that changes while it runs. It is made by
:meth:`Pipeline.from_config` (what ``deepeyes run`` does) or by the guide's classes from their
keyword arguments, and it is the only code that knows the default component of each kind
(:data:`DEFAULT_COMPONENTS`). Every option of every component and every setting is checked here,
before any log is read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .components import (
    DifficultyClassifier,
    Exporter,
    Router,
    SourceItem,
    Splitter,
    TaskDescriber,
    TrainingBackend,
    TrainingSettings,
    TrajectorySource,
)
from .config import ComponentConfig, RunConfig, config_to_dict
from .io import expand_paths
from .plugins import PluginManager, get_plugin_manager
from .redaction import RedactionOptions, Redactor
from .settings import CollectorSettings, DatasetSettings, EngineSettings, EvaluationSettings, TrainerSettings

#: The component a run uses for each kind its config does not name (the guide's defaults).
DEFAULT_COMPONENTS: Mapping[str, str] = {
    "trajectory_source": "baseline",
    "task_describer": "template",
    "difficulty_classifier": "sequence-length",
    "splitter": "stratified",
    "exporter": "jsonl",
    "training_backend": "dry-run",
    "argument_generator": "schema",
}

#: Where a run writes when neither the config nor the caller says (the guide's folder).
DEFAULT_OUTPUT_DIR = Path("logs/deepeyesv2/sft")


def default_component(kind: str, plugins: PluginManager | None = None) -> Any:
    """The default component of ``kind``, built with its default options."""
    return (plugins or get_plugin_manager()).build(kind, DEFAULT_COMPONENTS[kind])


def resolved_config(config: RunConfig) -> RunConfig:
    """``config`` with the default component filled in wherever it names none."""
    fill = {
        key: ComponentConfig(DEFAULT_COMPONENTS[kind])
        for key, kind in (
            ("describer", "task_describer"),
            ("classifier", "difficulty_classifier"),
            ("splitter", "splitter"),
            ("backend", "training_backend"),
        )
        if getattr(config, key) is None
    }
    if config.exporters is None:
        fill["exporters"] = [ComponentConfig(DEFAULT_COMPONENTS["exporter"])]
    return attrs.evolve(config, **fill)


def _resolve(path: str | Path, base: Path) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else base / candidate


@attrs.frozen(slots=True)
class SourceBinding:
    """A trajectory source and the files it reads."""

    source: TrajectorySource
    paths: tuple[Path, ...]


@attrs.frozen(slots=True)
class Pipeline:
    """A run's components and settings, all built and checked. Immutable: the state of a run in
    progress lives in the :class:`~deepeyes_core.ColdStartTrainer` that runs it."""

    describer: TaskDescriber
    classifier: DifficultyClassifier
    splitter: Splitter
    exporters: tuple[Exporter, ...]
    backend: TrainingBackend
    redactor: Any
    plugins: PluginManager
    sources: tuple[SourceBinding, ...] = ()
    collector: CollectorSettings = CollectorSettings()
    dataset: DatasetSettings = DatasetSettings()
    trainer: TrainerSettings = TrainerSettings()
    evaluation: EvaluationSettings = EvaluationSettings()
    #: Routes examples by the base model's pass rate (``[router]``); None: none, every example to SFT.
    router: Router | None = None
    engine: EngineSettings = attrs.field(factory=EngineSettings)
    output_dir: Path = DEFAULT_OUTPUT_DIR
    #: The config as written in reports (defaults filled in, secrets masked); empty when the
    #: pipeline was made from keyword arguments.
    config: Mapping[str, Any] = attrs.field(factory=dict)

    @classmethod
    def from_config(
        cls,
        config: RunConfig,
        base_dir: Path,
        plugins: PluginManager | None = None,
        output_dir: Path | None = None,
    ) -> Pipeline:
        """Build every component a config names (default ones where it names none); relative
        paths resolve against ``base_dir``. Source files must exist."""
        plugins = plugins or get_plugin_manager()
        config = resolved_config(config)
        build = plugins.build
        backend = build("training_backend", config.backend.name, config.backend.options)
        router = build("router", config.router.name, config.router.options) if config.router else None
        if router is not None:
            router.check(backend)
        pipeline = cls(
            sources=tuple(_bind(build("trajectory_source", s.name, s.options), s.paths, base_dir) for s in config.sources),
            describer=build("task_describer", config.describer.name, config.describer.options),
            classifier=build("difficulty_classifier", config.classifier.name, config.classifier.options),
            splitter=build("splitter", config.splitter.name, config.splitter.options),
            exporters=tuple(build("exporter", e.name, e.options) for e in config.exporters),
            backend=backend,
            router=router,
            redactor=make_redactor(config.redaction, plugins),
            plugins=plugins,
            collector=config.collector,
            dataset=config.dataset,
            trainer=config.trainer,
            evaluation=config.evaluation,
            engine=config.engine,
            output_dir=output_dir or _resolve(config.output_dir, base_dir),
            config=config_to_dict(config),
        )
        if config.engine.name in ("columnar", "ray"):
            from .columnar.choice import require_columnar

            require_columnar(pipeline, config.engine.name)
        return pipeline

    @classmethod
    def assemble(
        cls,
        *,
        plugins: PluginManager | None = None,
        describer: TaskDescriber | None = None,
        classifier: DifficultyClassifier | None = None,
        splitter: Splitter | None = None,
        exporters: Sequence[Exporter] | None = None,
        backend: TrainingBackend | None = None,
        redactor: Any = None,
        **settings: Any,
    ) -> Pipeline:
        """A pipeline from components already built (default ones for those not given) and
        settings (``collector=``, ``dataset=``, ``trainer=``, ``output_dir=``): what the guide's
        classes use when they are made directly."""
        plugins = plugins or get_plugin_manager()
        return cls(
            describer=describer or default_component("task_describer", plugins),
            classifier=classifier or default_component("difficulty_classifier", plugins),
            splitter=splitter or default_component("splitter", plugins),
            exporters=tuple(exporters) if exporters is not None else (default_component("exporter", plugins),),
            backend=backend or default_component("training_backend", plugins),
            redactor=redactor if redactor is not None else make_redactor(RedactionOptions(), plugins),
            plugins=plugins,
            **settings,
        )

    def items(self) -> SourceItems:
        """Every item of every source, in config order, as a stream the columnar engine can also
        read in batches (see :class:`SourceItems`)."""
        return SourceItems(self)

    @property
    def training_settings(self) -> TrainingSettings:
        """What the backend is handed."""
        t = self.trainer
        return TrainingSettings(
            t.model_id, t.epochs, t.learning_rate, t.batch_size, self.dataset.random_seed, self.dataset.prompt_layout
        )


@attrs.frozen(slots=True)
class SourceItems:
    """A pipeline's sources, read: iterating yields every item of every source in config order
    (the row engine's input, streamed). A trainer handed this object knows the items come from
    the pipeline's own sources, so it may read them in batches instead (the columnar engine)."""

    pipeline: Pipeline

    def __iter__(self) -> Iterator[SourceItem]:
        for binding in self.pipeline.sources:
            yield from binding.source.read(list(binding.paths))


def _bind(source: TrajectorySource, paths: Sequence[str], base_dir: Path) -> SourceBinding:
    """A source and its files; a directory in ``paths`` is read where the source declares which of
    its files are logs (a ``directory_glob`` class attribute, such as ``"**/*.jsonl"``)."""
    return SourceBinding(source, tuple(expand_paths(paths, base_dir, getattr(source, "directory_glob", None))))


def make_redactor(options: RedactionOptions, plugins: PluginManager) -> Any:
    """The redactor a plugin offers through ``deepeyes_redactor`` (the first that returns one),
    else the built-in :class:`Redactor`."""
    return plugins.hook.deepeyes_redactor(options=options) or Redactor(options)
