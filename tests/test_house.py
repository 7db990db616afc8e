"""The house a plugin author relies on: defaults written once, one pipeline, true events, contracts
checked at load, a versioned hook API."""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import warnings
from pathlib import Path

import attrs
import pytest

import deepeyes_core
from deepeyes_core import (
    DEFAULT_COMPONENTS,
    HOOK_API_VERSION,
    STAGES,
    ColdStartTrainer,
    CollectorSettings,
    ConfigError,
    DatasetSettings,
    Pipeline,
    PluginError,
    PluginManager,
    RunConfig,
    SFTDataset,
    SplitRatios,
    StageFinished,
    StageStarted,
    TrainerSettings,
    TrainingSettings,
    TrajectoryCollector,
    hookimpl,
    load_config,
    run,
    run_deepeyesv2_sft,
)
from deepeyes_core.evaluation import evaluate_improvement
from deepeyes_core.events import STREAMED_STAGES
from deepeyes_core.pipeline import DEFAULT_OUTPUT_DIR, resolved_config
from tests.conftest import ROOT
from tests.test_plugins import install_fake_distribution

QUICKSTART = ROOT / "examples" / "quickstart.toml"
CORE = ROOT / "deepeyes_core"


def _defaults(function) -> dict[str, object]:
    return {
        name: p.default for name, p in inspect.signature(function).parameters.items() if p.default is not p.empty
    }


def test_guide_signatures_take_their_defaults_from_the_config_settings():
    collector, dataset, trainer = CollectorSettings(), DatasetSettings(), TrainerSettings()
    config = RunConfig(sources=[])
    assert (config.collector, config.dataset, config.trainer) == (collector, dataset, trainer)
    expected = {
        TrajectoryCollector: attrs.asdict(collector),
        SFTDataset: {**attrs.asdict(dataset), "output_dir": DEFAULT_OUTPUT_DIR},
        ColdStartTrainer: {
            **{k: v for k, v in attrs.asdict(trainer).items() if k != "readiness_threshold"},
            "quality_threshold": collector.quality_threshold,
            "output_dir": DEFAULT_OUTPUT_DIR,
        },
        run_deepeyesv2_sft: {"quality_threshold": collector.quality_threshold, "output_dir": DEFAULT_OUTPUT_DIR},
        evaluate_improvement: {"prompt_layout": dataset.prompt_layout, "readiness_threshold": trainer.readiness_threshold},
        SplitRatios: {"train": dataset.train_ratio, "val": dataset.val_ratio, "test": dataset.test_ratio,
                      "seed": dataset.random_seed},
        TrainingSettings: {"epochs": trainer.epochs, "learning_rate": trainer.learning_rate,
                           "batch_size": trainer.batch_size, "seed": dataset.random_seed,
                           "prompt_layout": dataset.prompt_layout},
    }
    for function, values in expected.items():
        found = _defaults(function)
        for name, value in values.items():
            if name in found:  # the guide's classes name some settings and take the rest from a pipeline
                assert found[name] == value, (function.__name__, name)
        assert set(values) & set(found), function.__name__


def test_default_component_names_are_written_only_in_the_pipeline_module():
    """Outside pipeline.py no code of the core names a default component (docstrings aside). The
    source name "baseline" is also the provenance label of records, so it is not searched."""
    names = {name for kind, name in DEFAULT_COMPONENTS.items() if kind != "trajectory_source"}
    offenders = []
    for path in CORE.glob("*.py"):
        if path.name == "pipeline.py":
            continue
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in names and id(node) not in docstrings:
                offenders.append(f"{path.name}:{node.lineno} {node.value!r}")
    assert offenders == []


def test_a_config_without_component_tables_gets_the_pipeline_defaults(plugins):
    config = resolved_config(RunConfig(sources=[]))
    assert config.describer.name == DEFAULT_COMPONENTS["task_describer"]
    assert [e.name for e in config.exporters] == [DEFAULT_COMPONENTS["exporter"]]
    pipeline = Pipeline.from_config(RunConfig(sources=[]), Path("."), plugins)
    assert pipeline.backend.name == DEFAULT_COMPONENTS["training_backend"]
    assert pipeline.splitter.name == DEFAULT_COMPONENTS["splitter"]


class Recorder:
    """A plugin that records every run event (as a metrics plugin would)."""

    def __init__(self):
        self.events: list[object] = []

    @hookimpl
    def deepeyes_stage_started(self, event):
        self.events.append(event)

    @hookimpl
    def deepeyes_stage_finished(self, event):
        self.events.append(event)

    @hookimpl
    def deepeyes_run_finished(self, event):
        self.events.append(event)


def test_a_dry_run_announces_every_stage_in_order_each_once(tmp_path):
    recorder = Recorder()
    manager = PluginManager(load_entry_points=False, extra_plugins=[recorder])
    result = asyncio.run(run(QUICKSTART, plugins=manager, output_dir=tmp_path, overrides=["backend.name=dry-run"]))
    assert result["status"] == "completed"
    started = [e.stage for e in recorder.events if isinstance(e, StageStarted)]
    finished = [e for e in recorder.events if isinstance(e, StageFinished)]
    stages = [s for s in STAGES if s != "route"]  # no [router]: the route stage is skipped
    assert started == stages
    assert [e.stage for e in finished] == stages
    # The streamed stages start together and finish together; every other one finishes before the next starts.
    kinds = [(type(e).__name__, getattr(e, "stage", None)) for e in recorder.events]
    streamed = len(STREAMED_STAGES)
    assert kinds[:streamed] == [("StageStarted", s) for s in STREAMED_STAGES]
    assert kinds[streamed : 2 * streamed] == [("StageFinished", s) for s in STREAMED_STAGES]
    for stage in stages[streamed:]:
        i = kinds.index(("StageStarted", stage))
        assert kinds[i + 1] == ("StageFinished", stage)
    assert type(recorder.events[-1]).__name__ == "RunFinished"
    assert recorder.events[-1].report_file == result["report_file"]
    runs = {e.run.run_id for e in recorder.events}
    assert len(runs) == 1
    by_stage = {e.stage: e for e in finished}
    assert by_stage["read"].summary["records"] == result["dataset_stats"]["pipeline"]["invocations"]
    assert by_stage["describe"].summary["examples"] >= result["training_examples_count"]
    assert by_stage["split"].summary == result["splits"]
    assert all(e.seconds >= 0 for e in finished)


def test_an_event_hook_with_the_old_arguments_warns_and_still_gets_called(tmp_path):
    calls = []

    class OldStyle:
        @hookimpl
        def deepeyes_stage_started(self, stage, context):
            calls.append((stage, context["output_dir"]))

    with pytest.warns(DeprecationWarning) as caught:
        manager = PluginManager(load_entry_points=False, extra_plugins=[OldStyle()])
    assert sorted(str(w.message).split(" argument")[0] for w in caught) == ["the 'context'", "the 'stage'"]
    assert "removed in API 3: take 'event' and read event.stage" in str(caught[1].message) + str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.run(run(QUICKSTART, plugins=manager, output_dir=tmp_path, overrides=["backend.name=dry-run"]))
    assert [stage for stage, _ in calls] == [s for s in STAGES if s != "route"]
    assert {where for _, where in calls} == {str(tmp_path)}


def _fake_plugin(tmp_path, monkeypatch, source: str) -> None:
    install_fake_distribution(
        tmp_path, monkeypatch, "deepeyes-contract", {"deepeyes_contract": source},
        "[deepeyes]\ncontract = deepeyes_contract\n",
    )


SLOPPY_DESCRIBER = '''
    from deepeyes_core import NoOptions, hookimpl

    class Sloppy:
        name = "sloppy"
        Options = NoOptions

        def describe(self, trajectories):   # not async
            return ["x" for _ in trajectories]

    class Nameless:
        Options = dict

    @hookimpl
    def deepeyes_task_describers():
        return [Sloppy, Nameless]
'''


def test_a_component_that_breaks_its_protocol_is_named_at_load(tmp_path, monkeypatch):
    _fake_plugin(tmp_path, monkeypatch, SLOPPY_DESCRIBER)
    manager = PluginManager()
    errors = {f.entry_point: f.error for f in manager.failures}
    assert errors == {
        "contract: Sloppy": "describe() must be a coroutine function (async def)",
        "contract: Nameless": "has no 'name' (a non-empty string class attribute); 'Options' is not an attrs "
        "class; has no method describe()",
    }
    assert "sloppy" not in manager.components("task_describer")
    with pytest.raises(PluginError, match=r"task describer Sloppy from plugin contract \(deepeyes-contract 1.2.3\) "
                                          r"describe\(\) must be a coroutine"):
        PluginManager(strict=True)


def test_a_plugin_written_for_a_newer_hook_api_is_refused(tmp_path, monkeypatch):
    _fake_plugin(tmp_path, monkeypatch, f"DEEPEYES_HOOK_API = {HOOK_API_VERSION + 1}\n")
    manager = PluginManager()
    assert [f.distribution.name for f in manager.failures] == ["deepeyes-contract"]
    assert f"needs deepeyes hook API {HOOK_API_VERSION + 1}" in manager.failures[0].error


def test_a_redactor_plugin_replaces_the_builtin_one(tmp_path):
    seen = []

    class Shouting:
        def __init__(self, options):
            self.options = options

        def redact(self, trajectory):
            seen.append(trajectory.trajectory_id)
            return trajectory

        def stats(self):
            return {"shouted": len(seen)}

    class Provider:
        @hookimpl
        def deepeyes_redactor(self, options):
            return Shouting(options)

    manager = PluginManager(load_entry_points=False, extra_plugins=[Provider()])
    result = asyncio.run(run(QUICKSTART, plugins=manager, output_dir=tmp_path, overrides=["backend.name=dry-run"]))
    assert seen and result["dataset_stats"]["redaction"] == {"shouted": len(seen)}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("collector.quality_threshold=7", "collector: quality_threshold must be within 0..1, got 7"),
        ("collector.max_trajectory_length=0", "collector: max_trajectory_length must be at least 1, got 0"),
        ("collector.min_trajectory_length=6", "min_trajectory_length (6) must not exceed max_trajectory_length (5)"),
        ("trainer.epochs=-3", "trainer: epochs must be at least 1, got -3"),
        ("dataset.train_ratio=0.6", "must sum to 1, got 0.6 + 0.15 + 0.15 = 0.9"),
        ("dataset.prompt_layout='verbose'", "prompt_layout must be one of 'catalogue', 'task', 'guide', got 'verbose'"),
    ],
)
def test_every_setting_is_checked_before_any_log_is_read(tmp_path, override, message):
    with pytest.raises(ConfigError, match="invalid configuration") as caught:
        asyncio.run(run(QUICKSTART, output_dir=tmp_path / "out", overrides=[override]))
    assert message in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_source_paths_may_be_one_string(tmp_path):
    config = load_config(QUICKSTART, ['sources.0.paths="logs/invocations.jsonl"'])
    assert config.sources[0].paths == ["logs/invocations.jsonl"]
    with pytest.raises(ConfigError, match="paths must be a path or a list of paths, got 3"):
        load_config(QUICKSTART, ["sources.0.paths=3"])


def test_public_api_is_written_out():
    source = (CORE / "__init__.py").read_text()
    assert "dir()" not in source
    assert {"run", "load_config", "RunConfig", "Pipeline", "HOOK_API_VERSION"} <= set(deepeyes_core.__all__)
    assert all(hasattr(deepeyes_core, name) for name in deepeyes_core.__all__)
    assert not any(inspect.ismodule(getattr(deepeyes_core, n)) for n in deepeyes_core.__all__ if n != "conversations")


def test_deepeyes_plugins_lists_plugins_that_only_observe(tmp_path, monkeypatch, capsys):
    _fake_plugin(tmp_path, monkeypatch, '''
        from deepeyes_core import hookimpl

        @hookimpl
        def deepeyes_run_finished(event):
            pass
    ''')
    from deepeyes_core import cli, reset_plugin_manager

    reset_plugin_manager()
    try:
        assert cli.main(["plugins", "--json"]) == 0
    finally:
        reset_plugin_manager()
    rows = json.loads(capsys.readouterr().out)
    assert {"kind": "plugin", "name": "contract", "distribution": "deepeyes-contract", "version": "1.2.3",
            "hooks": ["deepeyes_run_finished"]} in rows


def test_naming_another_component_drops_the_options_of_the_one_it_replaces():
    config = load_config(QUICKSTART, ["backend.name=dry-run"])
    assert config.backend.name == "dry-run" and config.backend.options == {}
    kept = load_config(QUICKSTART, ["backend.name=trl", "backend.max_length=256"])
    assert kept.backend.options == {"max_length": 256}
    same = load_config(QUICKSTART, ["backend.max_new_tokens=64"])
    assert same.backend.options == {"max_length": 1024, "max_new_tokens": 64}
