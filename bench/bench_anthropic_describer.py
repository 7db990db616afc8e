"""Benchmark (not a test): the ``anthropic`` task describer against a plain sequential loop, on a
loopback fake of the Messages API that answers every call after a realistic latency (800 ms).

The server is stdlib ``http.server`` (threaded, HTTP/1.1 keep-alive), bound to 127.0.0.1 only, with
at most ``--max-handlers`` requests answered at once and a body-size cap; it lives for the run. It
answers ``POST /v1/messages`` in the API's JSON shape, with a description that names every
argument value (so every answer passes validation) and a usage block.

Rows:
  describer    2,000 trajectories (``--n``) through ``AnthropicDescriber`` with its default
               options except ``mode = "interactive"`` (the loopback has no Batches API, and auto
               mode would choose batches at this size) and a fresh on-disk cache.
  rerun        the same 2,000 again with the same cache: every answer from disk, no call made.
  sequential   a plain loop, one ``await client.messages.create(...)`` after another with the same
               SDK, timed on ``--sequential-n`` (20) trajectories and extrapolated to ``--n``
               linearly (each call costs the same latency, so the loop's time is linear in n).

    python bench/bench_anthropic_describer.py                 # 2,000 trajectories, 800 ms, ~4 min
    python bench/bench_anthropic_describer.py --n 400 --latency 0.2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_ARGS = re.compile(r"^\s*arguments: (\{.*\})\s*$", re.MULTILINE)
_TOOL = re.compile(r"^\d+\. tool `([^`]+)`", re.MULTILINE)
MAX_BODY = 4 * 1024 * 1024


def _values(value):
    if isinstance(value, dict):
        return [w for v in value.values() for w in _values(v)]
    if isinstance(value, list):
        return [w for v in value for w in _values(v)]
    return [] if isinstance(value, bool) or value is None else [str(value)]


def describe(body: dict) -> str:
    text = body["messages"][0]["content"]
    clauses = [
        f"use the {tool.replace('_', ' ')} tool with " + ", ".join(_values(json.loads(args)))
        for tool, args in zip(_TOOL.findall(text), _ARGS.findall(text))
    ]
    return "Please " + ", then ".join(clauses) + "."


def make_server(latency: float, max_handlers: int) -> ThreadingHTTPServer:
    gate = threading.BoundedSemaphore(max_handlers)
    ids = iter(range(1, 10**9))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def do_POST(self):
            length = int(self.headers.get("content-length", 0))
            if self.path != "/v1/messages" or length > MAX_BODY:
                return self._send(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})
            body = json.loads(self.rfile.read(length))
            with gate:
                time.sleep(latency)
                prompt_chars = sum(len(b.get("text", "")) for b in body.get("system", [])) + len(
                    body["messages"][0]["content"]
                )
                self._send(
                    200,
                    {
                        "id": f"msg_bench{next(ids):07d}",
                        "type": "message",
                        "role": "assistant",
                        "model": body["model"],
                        "content": [{"type": "text", "text": describe(body)}],
                        "stop_reason": "end_turn",
                        "stop_sequence": None,
                        "usage": {
                            "input_tokens": prompt_chars // 4,
                            "output_tokens": 30,
                            "cache_creation_input_tokens": 0,
                            "cache_read_input_tokens": 0,
                        },
                    },
                )

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("request-id", "req_bench")
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


def trajectories(n: int):
    from deepeyes_core import ToolInvocation, Trajectory

    tools = ("database_query", "cache_set", "http_get", "send_email")
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    out = []
    for i in range(n):
        calls = []
        for j in range(1 + i % 3):
            tool = tools[(i + j) % len(tools)]
            params = {
                "database_query": {"table": f"orders_{i}", "limit": 10 + j},
                "cache_set": {"key": f"report-{i}-{j}", "ttl_seconds": 3600},
                "http_get": {"url": f"https://example.org/items/{i}"},
                "send_email": {"to": f"user{i}@example.com", "subject": f"Report {i}"},
            }[tool]
            calls.append(
                ToolInvocation(
                    tool,
                    "BenchAgent",
                    params,
                    {"ok": True},
                    timestamp=start + timedelta(seconds=i * 10 + j),
                    session_id=f"s{i}",
                )
            )
        out.append(Trajectory("BenchAgent", tuple(calls), f"s{i}", f"BenchAgent/s{i}"))
    return out


async def sequential_loop(base_url: str, items, options) -> float:
    """What one would write by hand: one call after another, same SDK, same prompt."""
    import anthropic
    from deepeyes_anthropic.prompt import INSTRUCTIONS, catalogue_text, infer_catalogue, render_trajectory

    client = anthropic.AsyncAnthropic(api_key="sk-bench-not-a-key", base_url=base_url)
    system = [
        {"type": "text", "text": INSTRUCTIONS},
        {"type": "text", "text": catalogue_text(infer_catalogue(items)), "cache_control": {"type": "ephemeral"}},
    ]
    started = time.perf_counter()
    for trajectory in items:
        await client.messages.create(
            model=options.model,
            max_tokens=options.max_tokens,
            system=system,
            messages=[{"role": "user", "content": render_trajectory(trajectory, 400)}],
        )
    elapsed = time.perf_counter() - started
    await client.close()
    return elapsed


async def main_async(args) -> dict:
    from deepeyes_anthropic.describer import AnthropicDescriber

    server = make_server(args.latency, args.max_handlers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    items = trajectories(args.n)
    figures: dict = {"n": args.n, "latency_s": args.latency}
    try:
        with tempfile.TemporaryDirectory() as cache:
            options = AnthropicDescriber.Options(
                api_key="sk-bench-not-a-key", base_url=base_url, mode="interactive", cache_dir=cache
            )
            figures["concurrency"] = options.concurrency
            describer = AnthropicDescriber(options)
            started = time.perf_counter()
            answers = await describer.describe(items)
            elapsed = time.perf_counter() - started
            ok = sum(isinstance(a, str) for a in answers)
            figures["describer"] = {
                "seconds": elapsed,
                "per_s": args.n / elapsed,
                "described": ok,
                "calls": describer.usage.interactive.calls,
            }
            rerun = AnthropicDescriber(options)
            started = time.perf_counter()
            again = await rerun.describe(items)
            elapsed = time.perf_counter() - started
            figures["rerun"] = {
                "seconds": elapsed,
                "per_s": args.n / elapsed,
                "calls": rerun.usage.calls_started,
                "cached": rerun.usage.cached,
                "same": again == answers,
            }
        subset = items[: args.sequential_n]
        seconds = await sequential_loop(base_url, subset, options)
        figures["sequential"] = {
            "measured_n": len(subset),
            "seconds": seconds,
            "per_s": len(subset) / seconds,
            "extrapolated_seconds_for_n": seconds / len(subset) * args.n,
        }
    finally:
        server.shutdown()
        server.server_close()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.8, help="seconds per call (default 0.8)")
    parser.add_argument("--sequential-n", type=int, default=20)
    parser.add_argument("--max-handlers", type=int, default=64, help="requests the server answers at once")
    parser.add_argument("--json-out")
    args = parser.parse_args()
    figures = asyncio.run(main_async(args))
    d, r, s = figures["describer"], figures["rerun"], figures["sequential"]
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, latency {args.latency * 1000:.0f} ms per call, "
        f"{args.n} trajectories, describer concurrency {figures['concurrency']} (default)"
    )
    print(f"{'row':<12}{'seconds':>12}{'descriptions/s':>16}  note")
    print(f"{'describer':<12}{d['seconds']:>12.1f}{d['per_s']:>16.2f}  {d['calls']} calls, {d['described']} described")
    print(
        f"{'rerun':<12}{r['seconds']:>12.2f}{r['per_s']:>16.0f}  {r['calls']} calls, {r['cached']} from the disk "
        f"cache, same answers: {r['same']}"
    )
    print(
        f"{'sequential':<12}{s['extrapolated_seconds_for_n']:>12.1f}{s['per_s']:>16.2f}  measured on "
        f"{s['measured_n']} ({s['seconds']:.1f} s), extrapolated to {args.n}"
    )
    print(f"speed-up of the describer over the sequential loop: {d['per_s'] / s['per_s']:.1f}x")
    if args.json_out:
        with open(args.json_out, "w") as handle:
            json.dump(figures, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
