"""Phase 1: the invocation log (BaselineTracker) and the baseline run that fills it."""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from sys import intern
from typing import Any

import attrs
import cattrs
import msgspec
import orjson

from .components import Tool
from .errors import InputError, RecordRejected
from .io import atomic_json, not_json
from .limits import check_line, too_deep
from .records import Location, Rejection, ToolInvocation, ToolSpec, ToolStatus, converter

log = logging.getLogger(__name__)

#: A record with a field of an unexpected type is structured by the one converter without per-field
#: error detail; a record it refuses is structured again by :data:`converter` to name the field.
_fast = converter.copy(detailed_validation=False)

LOG_FILE_NAME = "invocations.jsonl"
#: The sidecar beside a log that holds the definitions of the tools it called: ``<log stem>.tools.json``.
TOOLS_SUFFIX = ".tools.json"

_STATUSES = {status.value: status for status in ToolStatus}
_UTC = timezone.utc


class _LogLine(msgspec.Struct, gc=False):
    """A log line whose fields all have their JSON types, as nearly every line of a log has. msgspec
    checks the types while it parses; a line it refuses takes the converter's path, which says why."""

    tool_name: str
    agent_name: str
    timestamp: float | str
    parameters: dict[str, Any] = {}
    result: Any = None
    status: str = "success"
    latency_ms: float = 0.0
    error: str | None = None
    session_id: str | None = None
    invocation_id: str | msgspec.UnsetType = msgspec.UNSET
    step_id: str | None = None


_decode_line = msgspec.json.Decoder(_LogLine).decode
_decode_json = msgspec.json.Decoder().decode


def _invocation(location: Location, line: _LogLine) -> ToolInvocation | None:
    """The ToolInvocation of a well-typed line (what the converter makes of it), or None when its
    status or timestamp needs the converter (an upper-case status, a timestamp out of range)."""
    status = _STATUSES.get(line.status)
    if status is None or not line.tool_name or not line.agent_name:
        return None
    stamp = line.timestamp
    try:
        if type(stamp) is float:
            moment = datetime.fromtimestamp(stamp, _UTC)
        else:
            moment = datetime.fromisoformat(stamp)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=_UTC)
    except (ValueError, OverflowError, OSError):
        return None
    invocation_id = line.invocation_id
    if invocation_id is msgspec.UNSET:
        invocation_id = f"{location.file}:{location.line}"
    return ToolInvocation(  # names interned: a few names repeat in every call, and examples hold them to the end
        intern(line.tool_name), intern(line.agent_name), line.parameters, line.result, status, line.latency_ms, moment,
        line.error, line.session_id, invocation_id, location, line.step_id,
    )


def read_invocations(path: Path | str) -> Iterator[ToolInvocation | Rejection]:
    """Each line of a BaselineTracker log as a ToolInvocation, or a Rejection naming file, line and
    field (a line that is not JSON, a torn last line after a crash, a field of the wrong type).
    Blank lines are skipped. Streams: memory does not grow with the file.

    A well-typed line is parsed and type-checked in one step by msgspec: 7.0 s per million lines,
    ToolInvocations made, where orjson and a check per field took 8.6 s (bench/bench_read_floor.py).
    Any other line is read by :func:`parse_invocation`, which names the field it refuses. A line
    beyond the read limits of :mod:`deepeyes_core.limits` (nested deeper than 100 levels, an integer
    beyond 64 bits) is rejected alone, its reason naming the field; the rest of its session is read.
    """
    name = str(path)
    with open(path, "rb") as handle:
        for number, text in enumerate(handle, 1):
            if text.isspace():  # what strip() would empty, without copying every line
                continue
            yield read_line(Location(name, number), text)


def read_line(location: Location, text: bytes) -> ToolInvocation | Rejection:
    """One non-blank log line (with its newline, if it has one) as :func:`read_invocations` reads it:
    the one definition both engines use, so the row and columnar engines read every line alike."""
    try:
        check_line(text)
        invocation = _invocation(location, _decode_line(text))
    except RecordRejected as exc:
        return Rejection(exc.reason, exc.detail, (location,), stage="read")
    except msgspec.ValidationError:  # JSON, but not typed as a log line
        invocation = None
    except msgspec.DecodeError as exc:
        return not_json(location, text, exc)
    except RecursionError:  # check_line counts brackets first; this is a guard
        return Rejection("too deeply nested", too_deep().detail, (location,), stage="read")
    if invocation is None:
        try:
            invocation = parse_invocation(location, _decode_json(text))
        except msgspec.DecodeError as exc:
            invocation = not_json(location, text, exc)
    return invocation


def tools_path(log_path: Path | str) -> Path:
    """The tool-definition sidecar of a log: ``invocations.jsonl`` -> ``invocations.tools.json``."""
    path = Path(log_path)
    return path.with_name(path.stem + TOOLS_SUFFIX)


def read_tool_specs(log_path: Path | str) -> tuple[ToolSpec, ...]:
    """The tool definitions in a log's sidecar (a JSON list of ``{"name", "description",
    "parameters"}``, as Phase 1 over MCP writes it); () when the log has none (older logs). A sidecar
    that cannot be read is an InputError naming the file, the entry and the field."""
    path = tools_path(log_path)
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return ()
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON: {exc}") from exc
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of tool definitions, got {_json_type(data)}")
    specs = []
    for i, entry in enumerate(data):
        try:
            spec = converter.structure(entry, ToolSpec)
        except cattrs.BaseValidationError as exc:
            problems = "; ".join(cattrs.transform_error(exc, path=f"[{i}]"))
            raise InputError(f"{path}: {problems}") from exc
        except (TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"{path}: [{i}]: {exc}") from exc
        if not isinstance(spec.parameters, dict) or spec.parameters.get("type") != "object":
            raise InputError(f'{path}: [{i}].parameters: must be a JSON Schema object with "type": "object"')
        specs.append(spec)
    return tuple(specs)


def parse_invocation(location: Location, obj: Any) -> ToolInvocation | Rejection:
    """A JSON object from a log line as a ToolInvocation, or a Rejection naming file, line and field.

    A record without an ``invocation_id`` gets its location (``file:line``) as one. ``tool_name`` and
    ``agent_name`` must be non-empty strings, ``session_id``, ``invocation_id`` and ``step_id``
    strings (or absent; ``session_id`` and ``step_id`` also null): the converter would make ``123``
    a tool named "123".

    ``step_id`` (optional) names the assistant turn a call was made in: consecutive calls of a
    session with one step id were made together (in parallel); a call without one is a step of its
    own. Only ``step_id`` is read: ``parent_id`` is not taken as an alias, because in tracing it
    names the caller (a parent span, often the agent run every call of a session shares), which
    would merge calls made one after the other into one step.
    """
    if not isinstance(obj, dict):
        return Rejection("malformed record", f"expected a JSON object, got {type(obj).__name__}", (location,), stage="read")
    problem = _identity_problem(obj)
    if problem is not None:
        return Rejection("malformed record", problem, (location,), stage="read")
    obj["location"] = location
    if "invocation_id" not in obj:
        obj["invocation_id"] = f"{location.file}:{location.line}"
    try:
        return _fast.structure(obj, ToolInvocation)
    except Exception:  # structure again with field-level detail, for the message
        pass
    try:
        converter.structure(obj, ToolInvocation)
    except cattrs.BaseValidationError as exc:
        problems = "; ".join(cattrs.transform_error(exc, path="field"))
        return Rejection("malformed record", problems, (location,), stage="read")
    except (TypeError, ValueError) as exc:
        return Rejection("malformed record", str(exc), (location,), stage="read")
    raise AssertionError("unreachable: the detailed converter accepted what the fast one refused")


def _identity_problem(obj: dict[str, Any]) -> str | None:
    """What is wrong with the fields that name a call (tool, agent, session, id), or None."""
    for field in ("tool_name", "agent_name"):
        value = obj.get(field)
        if field in obj and not isinstance(value, str):
            return f"{field}: expected a string, got {_json_type(value)} {_clip(value)}"
        if value == "":
            return f"{field}: empty string"
    for field, nullable in (("session_id", True), ("invocation_id", False), ("step_id", True)):
        value = obj.get(field)
        if field in obj and not isinstance(value, str) and not (nullable and value is None):
            return f"{field}: expected a string{' or null' if nullable else ''}, got {_json_type(value)} {_clip(value)}"
    return None


def _json_type(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", list: "array", dict: "object", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _clip(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _percentile(sorted_values: Sequence[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * (len(sorted_values) - 1))))
    return float(sorted_values[index])


def invocation_statistics(invocations: Iterable[ToolInvocation]) -> dict[str, Any]:
    """Per-tool success rate, error distribution and latency p50/p95/max, plus the totals."""
    by_tool: dict[str, list[ToolInvocation]] = defaultdict(list)
    for inv in invocations:
        by_tool[inv.tool_name].append(inv)
    per_tool = {}
    total = succeeded = 0
    for tool, calls in sorted(by_tool.items()):
        ok = sum(inv.succeeded for inv in calls)
        latencies = sorted(inv.latency_ms for inv in calls)
        errors = Counter(inv.error or inv.status.value for inv in calls if not inv.succeeded)
        per_tool[tool] = {
            "count": len(calls),
            "success_rate": ok / len(calls),
            "error_distribution": dict(errors.most_common()),
            "latency_ms": {
                "p50": _percentile(latencies, 50),
                "p95": _percentile(latencies, 95),
                "max": latencies[-1],
            },
        }
        total += len(calls)
        succeeded += ok
    return {
        "total_invocations": total,
        "success_rate": succeeded / total if total else 0.0,
        "tools": len(per_tool),
        "per_tool": per_tool,
    }


class BaselineTracker:
    """Phase 1's log of tool invocations.

    With an ``output_dir``, every recorded invocation is appended to ``output_dir/invocations.jsonl``
    and flushed at once, under a lock, so concurrent writers in one process never interleave.
    """

    def __init__(self, output_dir: Path | str | None = None):
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.invocations: list[ToolInvocation] = []
        self.load_errors: list[Rejection] = []
        self._lock = threading.Lock()
        self._handle = None
        if self.output_dir is not None:
            self.output_dir.mkdir(parents=True, exist_ok=True)

    @property
    def log_path(self) -> Path | None:
        return self.output_dir / LOG_FILE_NAME if self.output_dir is not None else None

    def record_invocation(self, invocation: ToolInvocation) -> None:
        line = orjson.dumps(converter.unstructure(_without_location(invocation))) + b"\n"
        with self._lock:
            self.invocations.append(invocation)
            if self.log_path is not None:
                if self._handle is None:
                    self._handle = open(self.log_path, "ab")
                self._handle.write(line)
                self._handle.flush()

    def record_tools(self, tools: Sequence[ToolSpec]) -> None:
        """Write the definitions of the tools this log calls to its sidecar (:func:`tools_path`),
        atomically, so the ``baseline`` source hands them to the catalogue of every example."""
        if self.log_path is not None:
            atomic_json(tools_path(self.log_path), list(tools))

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    @classmethod
    def load(cls, path: Path | str, output_dir: Path | str | None = None) -> BaselineTracker:
        """Read a stored log. Malformed lines and a torn last line are logged with file and line,
        kept in ``load_errors``, and never abort the load."""
        tracker = cls(output_dir)
        for parsed in read_invocations(path):
            if isinstance(parsed, Rejection):
                log.warning("%s: %s: %s", parsed.locations[0], parsed.reason, parsed.detail)
                tracker.load_errors.append(parsed)
            else:
                tracker.invocations.append(parsed)
        return tracker

    def get_statistics(self) -> dict[str, Any]:
        return invocation_statistics(self.invocations)

    def get_tool_success_rates(self) -> dict[str, float]:
        return {tool: s["success_rate"] for tool, s in self.get_statistics()["per_tool"].items()}


def _without_location(invocation: ToolInvocation) -> ToolInvocation:
    return invocation if invocation.location is None else attrs.evolve(invocation, location=None)


async def _invoke(tool: Tool, arguments: dict[str, Any], timeout_s: float) -> tuple[Any, ToolStatus, str | None]:
    try:
        if inspect.iscoroutinefunction(tool.invoke):
            result = await asyncio.wait_for(tool.invoke(arguments), timeout_s)
        else:
            result = await asyncio.wait_for(asyncio.to_thread(tool.invoke, arguments), timeout_s)
    except TimeoutError:
        return None, ToolStatus.TIMEOUT, f"timeout after {timeout_s:g}s"
    except Exception as exc:  # a failing tool is what Phase 1 measures
        return None, ToolStatus.FAILURE, f"{type(exc).__name__}: {exc}"
    return result, ToolStatus.SUCCESS, None


async def run_deepeyesv2_baseline(
    invocations_per_tool: int = 10,
    concurrent_tasks: int = 5,
    tools: Sequence[Tool] | None = None,
    output_dir: Path | str = Path("logs/deepeyesv2/baseline"),
    agent_name: str = "BaselineAgent",
    timeout_s: float = 30.0,
    seed: int = 42,
) -> dict[str, Any]:
    """Phase 1: invoke each tool ``invocations_per_tool`` times, at most ``concurrent_tasks`` at
    once, record every invocation, and return ``{"tracker", "statistics", "log_file"}``.

    ``tools`` defaults to every tool that plugins provide through ``deepeyes_tools``.
    """
    if tools is None:
        from .plugins import get_plugin_manager

        tools = get_plugin_manager().tools()
    tracker = BaselineTracker(output_dir)
    rng = random.Random(seed)
    gate = asyncio.Semaphore(concurrent_tasks)
    jobs = [(tool, tool.sample_arguments(rng)) for tool in tools for _ in range(invocations_per_tool)]

    async def one(index: int, tool: Tool, arguments: dict[str, Any]) -> None:
        async with gate:
            started = time.perf_counter()
            result, status, error = await _invoke(tool, arguments, timeout_s)
            tracker.record_invocation(
                ToolInvocation(
                    tool_name=tool.name,
                    agent_name=agent_name,
                    parameters=arguments,
                    result=result,
                    status=status,
                    error=error,
                    latency_ms=round((time.perf_counter() - started) * 1000, 3),
                    session_id=f"baseline-{index}",
                )
            )

    await asyncio.gather(*(one(i, tool, args) for i, (tool, args) in enumerate(jobs)))
    tracker.close()
    return {"tracker": tracker, "statistics": tracker.get_statistics(), "log_file": tracker.log_path}
