"""Phase 1's ``[baseline]`` table: which MCP servers to call, how often, how fast, with which arguments.

::

    [baseline]
    output_dir = "logs/phase1"        # invocations.jsonl and invocations.tools.json go here
    agent_name = "BaselineAgent"
    calls_per_tool = 10               # calls planned for every tool a server lists
    concurrency = 5                   # calls in flight at once, over all servers
    timeout_s = 30.0                  # per call; a call past it is a failure ("timeout after 30s")
    startup_timeout_s = 30.0          # per server: start, initialize and tools/list
    seed = 42                         # the argument generator's seed (per tool: derived from it)

    [baseline.arguments]              # the argument generator and its options
    name = "schema"                   # default; "anthropic": Claude proposes realistic arguments
    invalid_ratio = 0.2

    [baseline.mcp.servers.files]      # one table per server: a stdio command ...
    command = "npx"
    args = ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]
    env = { LOG_LEVEL = "warn" }      # merged over the SDK's safe default environment
    cwd = "."                         # relative paths resolve against the config file's folder
    tools = ["read_file"]             # optional: call only these of the listed tools
    prefix = "fs_"                    # optional: logged tool names are prefix + name

    [baseline.mcp.servers.search]     # ... or a streamable HTTP endpoint
    url = "http://127.0.0.1:8000/mcp"
    headers = { Authorization = "Bearer ..." }

The table may sit in a run's config file too (``deepeyes run`` ignores it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import cattrs

from .config import (
    ComponentConfig,
    _config_converter,
    _message,
    _where,
    read_toml,
)
from .errors import ConfigError
from .pipeline import DEFAULT_COMPONENTS
from .settings import InvalidSetting, _at_least, _positive


def _one_transport(server: McpServerConfig, *_: Any) -> None:
    if (server.command is None) == (server.url is None):
        raise InvalidSetting("a server needs exactly one of command (stdio) and url (streamable HTTP)")


@attrs.frozen
class McpServerConfig:
    """One MCP server: a stdio ``command`` (with ``args``, ``env``, ``cwd``) or a streamable HTTP ``url``."""

    command: str | None = None
    args: list[str] = attrs.field(factory=list)
    env: dict[str, str] = attrs.field(factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = attrs.field(factory=dict)
    #: Call only these tools (None: every tool the server lists).
    tools: list[str] | None = None
    prefix: str = ""

    def __attrs_post_init__(self) -> None:
        _one_transport(self)


@attrs.frozen
class McpConfig:
    servers: dict[str, McpServerConfig] = attrs.field(factory=dict)


def _default_arguments() -> ComponentConfig:
    return ComponentConfig(DEFAULT_COMPONENTS["argument_generator"])


@attrs.frozen
class BaselineConfig:
    """``[baseline]``: Phase 1 over MCP servers."""

    output_dir: str = "logs/deepeyesv2/baseline"
    agent_name: str = "BaselineAgent"
    calls_per_tool: int = attrs.field(default=10, validator=_at_least(1))
    concurrency: int = attrs.field(default=5, validator=_at_least(1))
    timeout_s: float = attrs.field(default=30.0, validator=_positive)
    startup_timeout_s: float = attrs.field(default=30.0, validator=_positive)
    seed: int = 42
    arguments: ComponentConfig = attrs.field(factory=_default_arguments)
    mcp: McpConfig = attrs.field(factory=McpConfig)


def parse_baseline_config(data: dict[str, Any], origin: str = "config", base: Path | None = None) -> BaselineConfig:
    """The ``[baseline]`` table of a config mapping; a ConfigError naming the file and the key.
    Relative ``output_dir`` and ``cwd`` resolve against ``base`` (the config file's folder)."""
    table = data.get("baseline")
    if not isinstance(table, dict):
        raise ConfigError(f"{origin}: no [baseline] table (see deepeyes baseline --help)")
    try:
        config = _config_converter.structure(table, BaselineConfig)
    except cattrs.BaseValidationError as exc:
        problems = "; ".join(_where(line.replace("@ $", "@ $.baseline", 1)) for line in cattrs.transform_error(exc, "$", _message))
        raise ConfigError(f"{origin}: invalid configuration: {problems}") from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{origin}: invalid configuration: baseline: {exc}") from exc
    if not config.mcp.servers:
        raise ConfigError(f"{origin}: [baseline.mcp.servers] names no server")
    if base is None:
        return config
    servers = {
        name: attrs.evolve(server, cwd=str(base / server.cwd)) if server.cwd is not None else server
        for name, server in config.mcp.servers.items()
    }
    return attrs.evolve(config, output_dir=str(base / config.output_dir), mcp=McpConfig(servers))


def load_baseline_config(path: Path | str, overrides: list[str] | tuple[str, ...] = ()) -> BaselineConfig:
    """The ``[baseline]`` table of a TOML file, with ``--set`` overrides (``baseline.seed=7``)."""
    path = Path(path)
    return parse_baseline_config(read_toml(path, overrides), str(path), path.parent)
