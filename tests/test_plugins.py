"""The plugin system: built-ins, real entry points (fake *.dist-info on sys.path), errors."""

from __future__ import annotations

import inspect
import sys
import textwrap
from pathlib import Path

import pytest

from deepeyes_core import ConfigError, PluginError, PluginManager, UnknownComponentError, hookspecs
from deepeyes_core.components import KINDS

ROOT = Path(__file__).resolve().parent.parent


def install_fake_distribution(tmp_path: Path, monkeypatch, dist: str, modules: dict[str, str], entry_points: str) -> None:
    """A real installed distribution as importlib.metadata sees one: a *.dist-info folder with
    METADATA and entry_points.txt, and its modules, on sys.path."""
    info = tmp_path / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    for name, source in modules.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in modules:
        sys.modules.pop(name, None)


def test_builtins_provide_every_kind():
    manager = PluginManager(load_entry_points=False)
    for kind in KINDS:
        assert manager.components(kind), kind
    info = manager.get("difficulty_classifier", "sequence-length")
    assert info.distribution.name == "deepeyes"
    assert info.option_defaults() == {"medium_max": 3}


def test_every_hook_is_documented_with_a_complete_example():
    hooks = [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("deepeyes_")]
    assert len(hooks) >= 10
    for hook in hooks:
        doc = inspect.getdoc(hook) or ""
        assert "Called" in doc, hook.__name__
        assert "@hookimpl" in doc and "Example" in doc, hook.__name__


def test_unknown_name_lists_what_exists():
    manager = PluginManager(load_entry_points=False)
    with pytest.raises(UnknownComponentError, match=r"no splitter named 'random'; available: .*stratified"):
        manager.get("splitter", "random")


def test_wrong_option_names_component_and_field():
    manager = PluginManager(load_entry_points=False)
    with pytest.raises(ConfigError, match=r"difficulty_classifier 'sequence-length'.*medium_maximum"):
        manager.build("difficulty_classifier", "sequence-length", {"medium_maximum": 2})
    with pytest.raises(ConfigError, match=r"medium_max"):
        manager.build("difficulty_classifier", "sequence-length", {"medium_max": "three"})
    assert manager.build("difficulty_classifier", "sequence-length", {"medium_max": 2}).options.medium_max == 2


def test_third_party_entry_point_is_loaded_with_its_distribution(tmp_path, monkeypatch):
    install_fake_distribution(
        tmp_path, monkeypatch, "deepeyes-shouting",
        {"deepeyes_shouting": '''
            from deepeyes_core import NoOptions, hookimpl

            class Shouting:
                """Shouts the tools."""
                name = "shouting"
                Options = NoOptions
                def __init__(self, options): pass
                async def describe(self, trajectories):
                    return [" THEN ".join(t.tool_sequence).upper() for t in trajectories]

            @hookimpl
            def deepeyes_task_describers():
                return [Shouting]
        '''},
        "[deepeyes]\nshouting = deepeyes_shouting\n",
    )
    manager = PluginManager()
    info = manager.get("task_describer", "shouting")
    assert (info.distribution.name, info.distribution.version) == ("deepeyes-shouting", "1.2.3")
    monkeypatch.setenv("DEEPEYES_LOAD_PLUGINS", "")
    assert "shouting" not in PluginManager().components("task_describer")
    monkeypatch.setenv("DEEPEYES_LOAD_PLUGINS", "deepeyes-shouting")
    assert "shouting" in PluginManager().components("task_describer")


def test_broken_plugin_is_reported_and_skipped_or_raises_when_strict(tmp_path, monkeypatch):
    install_fake_distribution(
        tmp_path, monkeypatch, "deepeyes-broken",
        {"deepeyes_broken": "import a_module_that_does_not_exist\n"},
        "[deepeyes]\nbroken = deepeyes_broken\n",
    )
    manager = PluginManager()
    assert [f.distribution.name for f in manager.failures] == ["deepeyes-broken"]
    assert "ModuleNotFoundError" in manager.failures[0].error
    assert manager.components("splitter")  # the rest keeps working
    with pytest.raises(PluginError, match=r"broken = deepeyes_broken from deepeyes-broken 1.2.3 failed to load"):
        PluginManager(strict=True)


def test_two_components_with_one_name_is_an_error_naming_every_provider(tmp_path, monkeypatch):
    install_fake_distribution(
        tmp_path, monkeypatch, "deepeyes-clash",
        {"deepeyes_clash": '''
            from deepeyes_core import NoOptions, hookimpl

            class Stratified:
                name = "stratified"
                Options = NoOptions

                def split(self, examples, ratios):
                    return {"train": list(examples), "val": [], "test": []}

            @hookimpl
            def deepeyes_splitters():
                return [Stratified]
        '''},
        "[deepeyes]\nclash = deepeyes_clash\n",
    )
    with pytest.raises(PluginError, match=r"splitter 'stratified' is provided by deepeyes 0\S* .*and deepeyes-clash 1.2.3"):
        PluginManager().components("splitter")


def test_misspelt_hook_is_an_error_not_silence():
    class Misspelt:
        @hookspecs.hookimpl
        def deepeyes_splitter():  # singular: not a hook
            return []

    with pytest.raises(PluginError, match="deepeyes_splitter"):
        PluginManager(load_entry_points=False, extra_plugins=[Misspelt()])


def test_example_plugin_package_is_used_by_name(tmp_path, monkeypatch):
    """examples/deepeyes-plugin-example, installed as pip would (dist-info with its entry points),
    swaps its classifier into a run by name."""
    import asyncio
    import tomllib

    package = ROOT / "examples" / "deepeyes-plugin-example"
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    entry_points = "".join(f"{k} = {v}\n" for k, v in project["entry-points"]["deepeyes"].items())
    install_fake_distribution(tmp_path, monkeypatch, project["name"], {}, "[deepeyes]\n" + entry_points)
    monkeypatch.syspath_prepend(str(package))
    manager = PluginManager()
    info = manager.get("difficulty_classifier", "argument-count")
    assert info.distribution.name == "deepeyes-plugin-example"

    from deepeyes_core import TrajectoryCollector
    from tests.conftest import invocation

    collector = TrajectoryCollector(
        describer=manager.build("task_describer", "template"),
        classifier=manager.build("difficulty_classifier", "argument-count", {"easy_max": 1, "hard_min": 3}),
    )
    items = [invocation(session="one", at=0, table="t")] + [
        invocation(session="three", at=i, table="t", limit=i) for i in range(2)
    ]
    examples = asyncio.run(collector.stream_examples(items))
    assert sorted(e.difficulty for e in examples) == ["easy", "hard"]
