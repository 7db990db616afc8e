"""An MCP server for deepeyes' Phase 1 tests, written with the SDK's MCPServer (FastMCP in mcp 1.x).

Tools that succeed, fail (raise ToolError: the SDK answers ``isError: true`` with its text), sleep past a timeout, return
large content, and (``crash``) kill the process mid-run. ``python tools_server.py`` serves stdio;
``python tools_server.py http PORT`` serves streamable HTTP on 127.0.0.1:PORT.
"""

from __future__ import annotations

import asyncio
import os
import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("deepeyes-test-tools")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def echo(text: str, times: int = 1) -> str:
    """Repeat a text."""
    return " ".join([text] * times)


@server.tool()
def divide(a: float, b: float) -> float:
    """Divide a by b; fails when b is 0."""
    if b == 0:
        raise ToolError("division by zero")
    return a / b


@server.tool()
async def slow(seconds: float) -> str:
    """Sleep, then answer."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
def big(size: int) -> str:
    """A text of ``size`` characters."""
    return "x" * size


@server.tool()
def crash(code: int = 3) -> str:
    """Exit the server process at once."""
    os._exit(code)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
