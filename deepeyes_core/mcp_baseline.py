"""Phase 1 over MCP servers: list each server's tools, call each with generated arguments, log every call.

Each server of ``[baseline.mcp.servers]`` is started (stdio) or reached (streamable HTTP) with the
official ``mcp`` SDK (extra ``deepeyes[mcp]``); its ``tools/list`` gives the catalogue and the
argument schemas; the ``[baseline.arguments]`` generator makes ``calls_per_tool`` argument objects
per tool (seeded per tool from ``seed``, the server's and the tool's names); at most
``concurrency`` calls are in flight at once over all servers. Every planned call ends in the log
(``invocations.jsonl``) as one ToolInvocation, and the tools' definitions in its sidecar
(``invocations.tools.json``), which the ``baseline`` source reads. What a call records:

- a result: its ``structuredContent`` where the tool returned one, else its content blocks' text
  joined by newlines (a non-text block as a bracketed note of its type and size);
- ``isError: true``: a failure, with the content's text as the error;
- no answer within ``timeout_s``: status ``timeout``, "timeout after <t>s";
- a protocol error (unknown tool, bad request): a failure, "MCP error <code>: <message>";
- the server's connection closing (it crashed): a failure naming the server, for the calls in
  flight; the calls not yet made are recorded as failures too ("not called: ..."), never dropped.

A server that cannot be started or initialised is reported (``servers[name]["error"]``) and has no
planned calls, since its tools are unknown. Server stderr goes to ``mcp-<server>.stderr.log`` in the
output folder, and its last lines are quoted when the server crashes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from .baseline import BaselineTracker, tools_path
from .baseline_config import BaselineConfig, McpServerConfig
from .components import ArgumentGenerator
from .errors import ConfigError, MissingExtraError, PluginError
from .records import ToolInvocation, ToolSpec, ToolStatus

log = logging.getLogger(__name__)

_COMPONENT = "Phase 1 over MCP servers"


def _import_mcp() -> Any:
    try:
        import mcp
    except ImportError as exc:
        raise MissingExtraError(_COMPONENT, "mcp", "mcp") from exc
    return mcp


def tool_seed(seed: int, server: str, tool: str) -> int:
    """The argument seed of one tool: stable across runs and Python processes (no ``hash()``)."""
    digest = hashlib.blake2b(f"{seed}\0{server}\0{tool}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def content_text(blocks: Any) -> str:
    """The text of a tool result's content blocks, joined by newlines; other blocks as a note."""
    parts = []
    for block in blocks or ():
        text = getattr(block, "text", None)
        if text is None:
            resource = getattr(block, "resource", None)
            text = getattr(resource, "text", None)
        if text is None:
            kind = getattr(block, "type", "content")
            mime = getattr(block, "mime_type", None) or getattr(resource, "mime_type", None)
            data = getattr(block, "data", None) or getattr(resource, "blob", None)
            uri = getattr(block, "uri", None) or getattr(resource, "uri", None)
            detail = ", ".join(str(x) for x in (mime, uri, data and f"{len(data)} base64 chars") if x)
            text = f"[{kind}{': ' + detail if detail else ''}]"
        parts.append(text)
    return "\n".join(parts)


class _Server:
    """One server's connection, its tools, and how its calls went."""

    def __init__(self, name: str, config: McpServerConfig):
        self.name = name
        self.config = config
        self.session: Any = None
        self.tools: list[tuple[str, ToolSpec]] = []  # (the server's tool name, the logged spec)
        self.error: str | None = None
        self.crashed: str | None = None
        self.stderr: Path | None = None
        self.planned = self.succeeded = 0

    def stderr_tail(self, lines: int = 5) -> str:
        if self.stderr is None or not self.stderr.exists():
            return ""
        tail = self.stderr.read_text(errors="replace").strip().splitlines()[-lines:]
        return f"; its last stderr lines: {' | '.join(tail)}" if tail else ""

    def report(self) -> dict[str, Any]:
        status = "failed to start" if self.error else "crashed" if self.crashed else "ok"
        return {"status": status, "error": self.error or self.crashed, "tools": len(self.tools),
                "planned": self.planned, "succeeded": self.succeeded, "failed": self.planned - self.succeeded}


@contextlib.asynccontextmanager
async def _quiet_exit(cm: Any, what: str) -> AsyncIterator[Any]:
    """Enter ``cm``; an error while leaving it (a transport whose server died) is logged, not raised."""
    entered = False
    try:
        value = await cm.__aenter__()
        entered = True
        yield value
    finally:
        if entered:
            try:
                await cm.__aexit__(None, None, None)
            except Exception as exc:  # noqa: BLE001 - the server is gone; nothing left to close
                log.info("closing %s: %s: %s", what, type(exc).__name__, exc)


async def _connect(server: _Server, stack: contextlib.AsyncExitStack, timeout_s: float, output_dir: Path) -> None:
    """Start or reach the server, initialise the session, and list its tools (every page), each
    request within ``timeout_s`` (calls pass their own)."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.types import PaginatedRequestParams

    c = server.config
    if c.command is not None:
        server.stderr = output_dir / f"mcp-{server.name}.stderr.log"
        errlog = stack.enter_context(open(server.stderr, "w", encoding="utf-8"))  # noqa: ASYNC230, SIM115
        params = StdioServerParameters(command=c.command, args=c.args, env=c.env or None, cwd=c.cwd)
        transport = stdio_client(params, errlog=errlog)
    else:
        http_client = None
        if c.headers:
            import httpx2

            http_client = await stack.enter_async_context(httpx2.AsyncClient(headers=c.headers, timeout=timeout_s))
        transport = streamable_http_client(c.url, http_client=http_client)
    read, write = await stack.enter_async_context(_quiet_exit(transport, f"MCP server {server.name!r}"))
    session = ClientSession(read, write, read_timeout_seconds=timeout_s)
    server.session = await stack.enter_async_context(_quiet_exit(session, f"MCP session {server.name!r}"))
    await server.session.initialize()
    cursor = None
    while True:
        page = await server.session.list_tools(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
        wanted = c.tools
        for tool in page.tools:
            if wanted is None or tool.name in wanted:
                spec = ToolSpec(c.prefix + tool.name, dict(tool.input_schema), tool.description or "")
                server.tools.append((tool.name, spec))
        cursor = page.next_cursor
        if not cursor:
            break
    missing = sorted(set(c.tools or ()) - {name for name, _ in server.tools})
    if missing:
        log.warning("MCP server %r lists no tool named %s", server.name, ", ".join(missing))


def _check_names(servers: list[_Server]) -> None:
    seen: dict[str, str] = {}
    for server in servers:
        for _, spec in server.tools:
            other = seen.setdefault(spec.name, server.name)
            if other != server.name:
                raise ConfigError(
                    f"tool {spec.name!r} is listed by MCP servers {other!r} and {server.name!r}: give one "
                    f'of them a prefix ([baseline.mcp.servers.{server.name}] prefix = "{server.name}_")'
                )


async def _call(server: _Server, tool: str, arguments: dict[str, Any], timeout_s: float) -> tuple[Any, ToolStatus, str | None]:
    from mcp.shared.exceptions import MCPError
    from mcp.types import CONNECTION_CLOSED, REQUEST_TIMEOUT

    if server.crashed:
        return None, ToolStatus.FAILURE, f"not called: {server.crashed}"
    try:
        result = await server.session.call_tool(tool, arguments, read_timeout_seconds=timeout_s)
    except MCPError as exc:
        if exc.error.code == REQUEST_TIMEOUT:
            return None, ToolStatus.TIMEOUT, f"timeout after {timeout_s:g}s"
        if exc.error.code != CONNECTION_CLOSED:
            return None, ToolStatus.FAILURE, f"MCP error {exc.error.code}: {exc.error.message}"
        reason = exc.error.message
    except Exception as exc:  # noqa: BLE001 - the transport broke under the call: the server is gone
        reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
    else:
        if result.is_error:
            return None, ToolStatus.FAILURE, content_text(result.content) or "the tool reported an error"
        value = result.structured_content if result.structured_content is not None else content_text(result.content)
        return value, ToolStatus.SUCCESS, None
    if not server.crashed:
        server.crashed = f"MCP server {server.name!r} crashed ({reason}){server.stderr_tail()}"
        log.error("%s", server.crashed)
    return None, ToolStatus.FAILURE, server.crashed


async def run_mcp_baseline(
    config: BaselineConfig, *, generator: ArgumentGenerator | None = None, plugins: Any = None
) -> dict[str, Any]:
    """Phase 1 over the config's MCP servers. Returns ``{"tracker", "statistics", "log_file",
    "tools_file", "planned", "servers"}``; ``servers`` holds per server its status ("ok", "crashed",
    "failed to start"), error, tools, planned, succeeded and failed calls."""
    _import_mcp()
    if generator is None:
        from .plugins import get_plugin_manager

        plugins = plugins or get_plugin_manager()
        generator = plugins.build("argument_generator", config.arguments.name, config.arguments.options)
    output_dir = Path(config.output_dir)
    tracker = BaselineTracker(output_dir)
    servers = [_Server(name, server) for name, server in config.mcp.servers.items()]
    gate = asyncio.Semaphore(config.concurrency)
    async with contextlib.AsyncExitStack() as stack:
        for server in servers:
            try:
                await _connect(server, stack, config.startup_timeout_s, output_dir)
            except Exception as exc:  # noqa: BLE001 - any failure to start is this server's, reported
                server.error = f"MCP server {server.name!r} could not be started: {type(exc).__name__}: {exc}{server.stderr_tail()}"
                server.tools = []
                log.error("%s", server.error)
        _check_names(servers)
        tracker.record_tools([spec for server in servers for _, spec in server.tools])
        jobs = []
        for server in servers:
            for tool, spec in server.tools:
                made = await generator.arguments(spec, config.calls_per_tool, tool_seed(config.seed, server.name, tool))
                if len(made) != config.calls_per_tool or not all(isinstance(a, dict) for a in made):
                    raise PluginError(
                        f"argument generator {generator.name!r} answered {len(made)} items for tool {spec.name!r} "
                        f"where {config.calls_per_tool} argument objects were asked for"
                    )
                jobs.extend((server, tool, spec, arguments) for arguments in made)
                server.planned += config.calls_per_tool

        async def one(index: int, server: _Server, tool: str, spec: ToolSpec, arguments: dict[str, Any]) -> None:
            async with gate:
                started = time.perf_counter()
                result, status, error = await _call(server, tool, arguments, config.timeout_s)
                latency = 0.0 if error and error.startswith("not called") else (time.perf_counter() - started) * 1000
                server.succeeded += status is ToolStatus.SUCCESS
                tracker.record_invocation(ToolInvocation(
                    tool_name=spec.name, agent_name=config.agent_name, parameters=arguments, result=result,
                    status=status, error=error, latency_ms=round(latency, 3), session_id=f"baseline-{index}",
                ))

        await asyncio.gather(*(one(i, *job) for i, job in enumerate(jobs)))
    tracker.close()
    return {
        "tracker": tracker,
        "statistics": tracker.get_statistics(),
        "log_file": tracker.log_path,
        "tools_file": tools_path(tracker.log_path) if tracker.log_path else None,
        "planned": len(jobs),
        "servers": {server.name: server.report() for server in servers},
    }
