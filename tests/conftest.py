from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from deepeyes_core import PluginManager, ToolInvocation, ToolStatus

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_LOG = ROOT / "examples" / "logs" / "invocations.jsonl"
BROKEN_LOG = ROOT / "examples" / "logs" / "broken.jsonl"


@pytest.fixture
def plugins(monkeypatch) -> PluginManager:
    """A fresh plugin manager with the built-ins only, installed as the process-wide one."""
    import deepeyes_core.plugins as module

    manager = PluginManager(load_entry_points=False)
    monkeypatch.setattr(module, "_default", manager)
    return manager


def invocation(tool="database_query", agent="A", session="s1", ok=True, at=0.0, **params) -> ToolInvocation:
    return ToolInvocation(
        tool_name=tool,
        agent_name=agent,
        parameters=params or {"table": "orders"},
        result={"rows": 1} if ok else None,
        status=ToolStatus.SUCCESS if ok else ToolStatus.FAILURE,
        error=None if ok else "timeout after 5s",
        latency_ms=12.5,
        timestamp=datetime(2025, 11, 15, tzinfo=timezone.utc) + timedelta(seconds=at),
        session_id=session,
    )
