"""Phase 1 over real MCP servers (the SDK's MCPServer, over stdio and streamable HTTP) and the
``schema`` argument generator; a Phase 2 dry run on the log carries the servers' tool definitions."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deepeyes_core import (
    BaselineConfig,
    InputError,
    McpServerConfig,
    NoOptions,
    ToolInvocation,
    ToolSpec,
    ToolStatus,
    load_baseline_config,
    read_invocations,
    read_tool_specs,
    run,
    run_mcp_baseline,
)
from deepeyes_core.baseline_config import McpConfig
from deepeyes_core.config import ConfigError, parse_config

pytest.importorskip("mcp")
jsonschema = pytest.importorskip("jsonschema")

SERVER = Path(__file__).parent / "data" / "mcp" / "tools_server.py"
#: The server runs in a fresh interpreter: it needs this one's import path to find the SDK.
ENV = {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
TIMEOUT_S = 0.5


class FixedArguments:
    """Exact arguments per tool, numbered so no two calls are alike (dedup keeps them all)."""

    name = "fixed"
    Options = NoOptions

    def __init__(self, options: NoOptions | None = None):
        pass

    async def arguments(self, tool: ToolSpec, count: int, seed: int) -> list[dict]:
        make = {
            "add": lambda i: {"a": i, "b": 2},
            "s_add": lambda i: {"a": i, "b": 2},
            "echo": lambda i: {"text": f"hello {i}", "times": 2},
            "divide": lambda i: {"a": i, "b": 0},
            "slow": lambda i: {"seconds": 5 + i},
            "big": lambda i: {"size": 100_000 + i},
            "crash": lambda i: {"code": 3},
        }[tool.name]
        return [make(i) for i in range(count)]


def stdio(**changes) -> McpServerConfig:
    return McpServerConfig(command=sys.executable, args=[str(SERVER)], env=ENV, **changes)


def config(tmp: Path, servers: dict[str, McpServerConfig], **changes) -> BaselineConfig:
    settings = {"calls_per_tool": 2, "concurrency": 4, "timeout_s": TIMEOUT_S, **changes}
    return BaselineConfig(output_dir=str(tmp), mcp=McpConfig(servers), **settings)


def log_lines(path: Path) -> list:
    return list(read_invocations(path))


@pytest.fixture(scope="module")
def phase1(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("phase1")
    cfg = config(out, {"tools": stdio(tools=["add", "echo", "divide", "slow", "big"])})
    started = time.perf_counter()
    result = asyncio.run(run_mcp_baseline(cfg, generator=FixedArguments()))
    result["seconds"] = time.perf_counter() - started
    return result


def test_every_planned_call_is_logged_with_its_real_outcome(phase1):
    server = phase1["servers"]["tools"]
    assert server["status"] == "ok" and server["tools"] == 5
    assert phase1["planned"] == server["planned"] == 10
    assert server["succeeded"] + server["failed"] == 10
    logged = log_lines(phase1["log_file"])
    assert len(logged) == 10 and all(isinstance(i, ToolInvocation) for i in logged)
    by_tool: dict[str, list] = {}
    for inv in logged:
        by_tool.setdefault(inv.tool_name, []).append(inv)
    assert sorted(inv.result["result"] for inv in by_tool["add"]) == [2, 3]
    assert {inv.result["result"] for inv in by_tool["echo"]} == {"hello 0 hello 0", "hello 1 hello 1"}
    assert sorted(len(inv.result["result"]) for inv in by_tool["big"]) == [100_000, 100_001]
    for inv in by_tool["divide"]:  # raised in the tool: isError, with the tool's own text
        assert inv.status is ToolStatus.FAILURE and "division by zero" in inv.error and inv.result is None
    for inv in by_tool["slow"]:
        assert inv.status is ToolStatus.TIMEOUT and inv.error == f"timeout after {TIMEOUT_S:g}s"
        assert inv.latency_ms >= TIMEOUT_S * 1000
    assert server["succeeded"] == 6
    assert all(inv.latency_ms > 0 for inv in logged)
    assert phase1["statistics"]["total_invocations"] == 10
    assert phase1["statistics"]["per_tool"]["slow"]["success_rate"] == 0.0
    assert phase1["seconds"] < 20


def test_the_sidecar_holds_the_servers_tool_definitions(phase1):
    specs = {spec.name: spec for spec in read_tool_specs(phase1["log_file"])}
    assert set(specs) == {"add", "echo", "divide", "slow", "big"}
    assert specs["add"].description == "Add two integers."
    assert specs["add"].parameters["required"] == ["a", "b"]
    assert specs["add"].parameters["properties"]["a"]["type"] == "integer"


def test_a_phase2_dry_run_exports_the_mcp_definitions(phase1, tmp_path, plugins):
    cfg = parse_config({
        "sources": [{"name": "baseline", "paths": [str(phase1["log_file"])]}],
        "output_dir": str(tmp_path / "run"),
        "trainer": {"min_examples": 1},
        "collector": {"quality_threshold": 0.0},
        "exporters": [{"name": "jsonl"}, {"name": "openai-chat", "min_train_examples": 1}],
        "backend": {"name": "dry-run"},
    })
    result = asyncio.run(run(cfg, base_dir=tmp_path, plugins=plugins))
    records = [json.loads(line) for path in (tmp_path / "run" / "openai-chat").glob("sft_*[!a].jsonl")
               for line in path.read_text().splitlines()]
    assert result["training_examples_count"] >= 4 and records
    declared = {}
    for record in records:
        names = {tool["function"]["name"] for tool in record["tools"]}
        called = [c["function"]["name"] for m in record["messages"] for c in m.get("tool_calls", ())]
        assert called and set(called) <= names
        declared.update({tool["function"]["name"]: tool["function"] for tool in record["tools"]})
    served = {spec.name: spec for spec in read_tool_specs(phase1["log_file"])}
    assert declared and set(declared) <= set(served)
    for name, function in declared.items():  # the server's own definitions, not ones inferred from calls
        assert function["description"] == served[name].description != ""
        assert function["parameters"] == served[name].parameters


def test_a_server_that_crashes_mid_run_is_reported_and_its_calls_counted(tmp_path, capsys):
    cfg = config(tmp_path, {"doomed": stdio(tools=["add", "crash"]), "steady": stdio(tools=["add"], prefix="s_")},
                 calls_per_tool=3, concurrency=1, timeout_s=5.0)
    result = asyncio.run(run_mcp_baseline(cfg, generator=FixedArguments()))
    doomed, steady = result["servers"]["doomed"], result["servers"]["steady"]
    assert doomed["status"] == "crashed" and "'doomed'" in doomed["error"]
    assert (doomed["planned"], doomed["succeeded"], doomed["failed"]) == (6, 3, 3)
    assert (steady["status"], steady["succeeded"], steady["failed"]) == ("ok", 3, 0)
    logged = log_lines(result["log_file"])
    assert len(logged) == result["planned"] == 9
    crash_calls = [inv for inv in logged if inv.tool_name == "crash"]
    assert [inv.status for inv in crash_calls] == [ToolStatus.FAILURE] * 3
    assert "crashed" in crash_calls[0].error and crash_calls[0].latency_ms > 0
    assert all(inv.error.startswith("not called: MCP server 'doomed' crashed") for inv in crash_calls[1:])


def test_the_cli_reads_the_baseline_table_and_exits_1_on_a_crash(tmp_path, capsys):
    from deepeyes_core.cli import main

    toml = tmp_path / "phase1.toml"
    toml.write_text(f"""
[baseline]
output_dir = "out"
calls_per_tool = 1
timeout_s = 5.0

[baseline.mcp.servers.doomed]
command = {json.dumps(sys.executable)}
args = [{json.dumps(str(SERVER))}]
env = {{ PYTHONPATH = {json.dumps(ENV["PYTHONPATH"])} }}
tools = ["crash", "add"]
""")
    assert main(["baseline", "--config", str(toml), "--set", "baseline.concurrency=1"]) == 1
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert summary["planned"] == 2 and summary["total_invocations"] == 2
    assert "MCP server 'doomed' crashed" in err
    assert (tmp_path / "out" / "invocations.tools.json").exists()


def test_config_errors_name_the_key(tmp_path):
    toml = tmp_path / "bad.toml"
    toml.write_text('[baseline]\ncalls_per_tool = 0\n[baseline.mcp.servers.x]\ncommand = "a"\n')
    with pytest.raises(ConfigError, match="bad.toml.*calls_per_tool"):
        load_baseline_config(toml)
    toml.write_text('[baseline.mcp.servers.x]\ncommand = "a"\nurl = "http://127.0.0.1:1/mcp"\n')
    with pytest.raises(ConfigError, match="exactly one of command"):
        load_baseline_config(toml)
    toml.write_text('[baseline]\nseed = 1\n')
    with pytest.raises(ConfigError, match="names no server"):
        load_baseline_config(toml)


def test_a_run_config_may_hold_the_baseline_table_and_reports_mask_its_secrets():
    from deepeyes_core.config import config_to_dict

    server = {"url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer s3cret"}}
    cfg = parse_config({"sources": [{"name": "baseline", "paths": ["a.jsonl"]}],
                        "baseline": {"mcp": {"servers": {"web": server}}}})
    assert cfg.baseline["mcp"]["servers"]["web"]["url"] == server["url"]
    assert "s3cret" not in json.dumps(config_to_dict(cfg))


def test_a_broken_sidecar_names_file_and_field(tmp_path):
    log = tmp_path / "invocations.jsonl"
    log.write_text("")
    (tmp_path / "invocations.tools.json").write_text('[{"name": "a", "parameters": {"type": "string"}}]')
    with pytest.raises(InputError, match=r"invocations.tools.json: \[0\].parameters"):
        read_tool_specs(log)
    (tmp_path / "invocations.tools.json").write_text('[{"parameters": {}}]')
    with pytest.raises(InputError, match=r"invocations.tools.json.*\[0\].*name"):
        read_tool_specs(log)
    (tmp_path / "invocations.tools.json").unlink()
    assert read_tool_specs(log) == ()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_streamable_http(tmp_path):
    port = _free_port()
    process = subprocess.Popen([sys.executable, str(SERVER), "http", str(port)], env={**os.environ, **ENV},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "the HTTP server did not start"
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/mcp"
        cfg = config(tmp_path, {"web": McpServerConfig(url=url, tools=["add", "divide"])}, timeout_s=5.0)
        result = asyncio.run(run_mcp_baseline(cfg, generator=FixedArguments()))
    finally:
        process.terminate()
        process.wait(10)
    web = result["servers"]["web"]
    assert (web["status"], web["planned"], web["succeeded"], web["failed"]) == ("ok", 4, 2, 2)
    assert {inv.result["result"] for inv in log_lines(result["log_file"]) if inv.tool_name == "add"} == {2, 3}


def test_a_server_that_cannot_start_is_reported(tmp_path):
    cfg = config(tmp_path, {"ghost": McpServerConfig(command=sys.executable, args=["-c", "raise SystemExit(5)"])})
    result = asyncio.run(run_mcp_baseline(cfg, generator=FixedArguments()))
    assert result["servers"]["ghost"]["status"] == "failed to start"
    assert "'ghost'" in result["servers"]["ghost"]["error"] and result["planned"] == 0


# -- the schema generator ------------------------------------------------------------------------

RICH = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "minLength": 3, "maxLength": 20},
        "limit": {"type": "integer", "minimum": 1, "maximum": 50},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "mode": {"enum": ["fast", "exact"]},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 4},
        "when": {"type": "string", "format": "date"},
        "owner": {"$ref": "#/$defs/Owner"},
        "flag": {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
    },
    "required": ["query", "limit", "owner"],
    "$defs": {"Owner": {"type": "object", "properties": {"id": {"type": "integer"}, "email": {"type": "string"}},
                        "required": ["id"]}},
}


def test_schema_arguments_are_valid_and_deterministic(plugins, phase1):
    generator = plugins.build("argument_generator", "schema", {"invalid_ratio": 0.25})
    specs = [ToolSpec("rich", RICH), *read_tool_specs(phase1["log_file"])]
    for spec in specs:
        cases = generator.cases(spec, 40, seed=7)
        assert cases == generator.cases(spec, 40, seed=7)
        assert cases != generator.cases(spec, 40, seed=8)
        assert sum(kind != "valid" for kind, _ in cases) == 10
        validator = jsonschema.Draft202012Validator(spec.parameters)
        for kind, arguments in cases:
            errors = list(validator.iter_errors(arguments))
            assert (not errors) == (kind == "valid"), (spec.name, kind, arguments, errors)
    kinds = {kind for kind, _ in generator.cases(ToolSpec("rich", RICH), 40, seed=7)}
    assert kinds == {"valid", "missing-required", "wrong-type"}
    assert asyncio.run(generator.arguments(specs[0], 5, 3)) == [a for _, a in generator.cases(specs[0], 5, 3)]


def test_the_argument_generator_kind_is_listed_and_contract_checked(plugins):
    from deepeyes_core import contract_problems

    assert "schema" in plugins.components("argument_generator")
    assert contract_problems("argument_generator", FixedArguments) == []

    class Sync:
        name = "sync"
        Options = NoOptions

        def arguments(self, tool, count, seed):
            return []

    assert contract_problems("argument_generator", Sync) == ["arguments() must be a coroutine function (async def)"]
    with pytest.raises(ConfigError, match="invalid_ratio"):
        plugins.build("argument_generator", "schema", {"invalid_ratio": 1.5})


def test_a_generator_that_answers_too_few_is_an_error(tmp_path):
    from deepeyes_core import PluginError

    class Short(FixedArguments):
        async def arguments(self, tool, count, seed):
            return [{}]

    with pytest.raises(PluginError, match="answered 1 items for tool 'add'"):
        asyncio.run(run_mcp_baseline(config(tmp_path, {"t": stdio(tools=["add"])}), generator=Short()))
