"""What an example costs held in memory: the reader interns tool and agent names (a few names
repeat in every call), and the per-call records carry no ``__weakref__`` slot."""

from __future__ import annotations

import pytest

from deepeyes_core.baseline import read_line
from deepeyes_core.records import (
    Location,
    Step,
    StepCall,
    ToolInvocation,
    ToolResult,
    TrainingExample,
)


def test_the_reader_interns_tool_and_agent_names():
    line = b'{"tool_name": "search_' + b'web", "agent_name": "age' + b'nt-7", "parameters": {}, "result": null, '
    line += b'"status": "success", "latency_ms": 1.0, "timestamp": "2026-01-01T00:00:00+00:00"}\n'
    a, b = read_line(Location("log.jsonl", 1), line), read_line(Location("log.jsonl", 2), line)
    assert type(a) is ToolInvocation and a.tool_name == "search_web" and a.agent_name == "agent-7"
    assert a.tool_name is b.tool_name and a.agent_name is b.agent_name


@pytest.mark.parametrize("record", [Location, ToolInvocation, ToolResult, StepCall, Step, TrainingExample])
def test_records_held_per_call_have_no_weakref_slot(record):
    assert "__weakref__" not in record.__slots__
