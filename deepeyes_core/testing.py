"""pytest fixtures for testing a deepeyes plugin (loaded by pytest through the ``pytest11`` entry
point, so a plugin's tests use them without importing anything).

``deepeyes_plugins(*plugins)``
    A fresh plugin manager with the built-ins and the given plugin modules (or objects) registered,
    and no entry points, installed as the process-wide manager for the test (so components that
    build others by name find yours). Contracts are checked as at a real load: a component that
    breaks its protocol fails here, naming what is missing.
``deepeyes_sample_log``
    A small invocation log (BaselineTracker JSONL: 3 agents, 40 sessions of 1 to 4 calls, some
    failed calls) in the test's temporary folder.
``deepeyes_run``
    Runs the whole pipeline (dry-run backend unless you name another) on that log with a manager
    of your choosing and returns the guide's result dict; the run's files are in ``result["files"]``.

Example, in a plugin's ``tests/test_plugin.py``::

    import my_plugin

    def test_my_classifier_labels_every_example(deepeyes_plugins, deepeyes_run):
        plugins = deepeyes_plugins(my_plugin)
        result = deepeyes_run(plugins, classifier={"name": "my-classifier"})
        assert result["status"] == "completed"
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from .baseline import BaselineTracker
from .config import parse_config
from .plugins import PluginManager
from .records import ToolInvocation, ToolStatus
from .runner import run

_TOOLS = {
    "database_query": lambda r: {"table": r.choice(["orders", "users", "events"]), "limit": r.randint(1, 50)},
    "cache_set": lambda r: {"key": f"k{r.randint(1, 99)}", "ttl_seconds": r.choice([60, 300, 3600])},
    "http_get": lambda r: {"url": f"https://api.example.com/v1/items/{r.randint(1, 999)}"},
    "send_email": lambda r: {"to": "ops", "subject": r.choice(["report", "alert", "digest"])},
}


def write_sample_log(folder: Path, sessions: int = 40, seed: int = 7) -> Path:
    """A small BaselineTracker log in ``folder`` (its path is returned): 3 agents, ``sessions``
    sessions of 1 to 4 calls (deterministic for ``seed``), about one call in twelve failed."""
    rng = random.Random(seed)
    tracker = BaselineTracker(output_dir=folder)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for session in range(sessions):
        agent = f"Agent{session % 3}"
        for step in range(rng.randint(1, 4)):
            tool = rng.choice(sorted(_TOOLS))
            ok = rng.random() > 1 / 12
            tracker.record_invocation(ToolInvocation(
                tool_name=tool,
                agent_name=agent,
                parameters=_TOOLS[tool](rng),
                result={"ok": True, "items": rng.randint(0, 9)} if ok else None,
                status=ToolStatus.SUCCESS if ok else ToolStatus.FAILURE,
                error=None if ok else "upstream timed out after 5 s",
                latency_ms=float(rng.randint(5, 400)),
                timestamp=start + timedelta(minutes=10 * session, seconds=step),
                session_id=f"s{session}",
                invocation_id=f"inv-{session}-{step}",
            ))
    tracker.close()
    return tracker.log_path


@pytest.fixture
def deepeyes_plugins(monkeypatch: pytest.MonkeyPatch) -> Callable[..., PluginManager]:
    """Make a fresh plugin manager with the given plugins registered (see the module docstring)."""
    from . import plugins as module

    def make(*plugins: Any) -> PluginManager:
        manager = PluginManager(load_entry_points=False, extra_plugins=plugins)
        monkeypatch.setattr(module, "_default", manager)
        return manager

    return make


@pytest.fixture
def deepeyes_sample_log(tmp_path: Path) -> Path:
    """A small invocation log in the test's temporary folder (see :func:`write_sample_log`)."""
    return write_sample_log(tmp_path / "logs")


@pytest.fixture
def deepeyes_run(deepeyes_sample_log: Path, tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """Run the pipeline on the sample log: ``deepeyes_run(plugins, **config_tables)``; a table
    given replaces the default one (``exporters=[{"name": "csv"}]``, ``backend={"name": "x"}``)."""

    def run_pipeline(plugins: PluginManager, **tables: Any) -> dict[str, Any]:
        config = parse_config({
            "sources": [{"name": "baseline", "paths": [str(deepeyes_sample_log)]}],
            "output_dir": str(tmp_path / "run"),
            "trainer": {"min_examples": 10},
            **tables,
        })
        return asyncio.run(run(config, base_dir=tmp_path, plugins=plugins))

    return run_pipeline
