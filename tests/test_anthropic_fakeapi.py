"""A fake Anthropic API for the ``anthropic`` describer and backend tests, driven through the real SDK.

:class:`FakeAnthropicAPI` answers ``POST /v1/messages``, ``/v1/messages/count_tokens``,
``/v1/messages/batches`` and ``GET /v1/messages/batches/{id}[/results]`` over
``httpx2.MockTransport`` in the API's JSON shapes: ``message`` objects with ``usage``
(``cache_creation_input_tokens`` / ``cache_read_input_tokens`` from a simulated prompt cache that,
like the API, caches only prefixes of at least ``cache_min_tokens``), ``message_batch`` objects,
results JSON Lines (``succeeded`` / ``errored`` / ``expired`` / ``canceled``), and error bodies
``{"type": "error", "error": {"type": ..., "message": ...}, "request_id": ...}`` with the status
codes the API uses (429 ``rate_limit_error`` with ``retry-after``, 529 ``overloaded_error``, 500
``api_error``, 404 ``not_found_error``). The tests of this module check the fake against the SDK.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

httpx2 = pytest.importorskip("httpx2")  # comes with the "anthropic" extra

ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}
_ARGS = re.compile(r"^\s*arguments: (\{.*\})\s*$", re.MULTILINE)
_TOOL = re.compile(r"^\d+\. tool `([^`]+)`", re.MULTILINE)


def _words(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [w for v in value.values() for w in _words(v)]
    if isinstance(value, list):
        return [w for v in value for w in _words(v)]
    if isinstance(value, bool) or value is None:
        return []
    return [str(value)]


def describe_from_prompt(body: dict[str, Any]) -> str:
    """What a good describer answers: every argument value, in plain words."""
    first = body["messages"][0]["content"]
    text = first if isinstance(first, str) else "".join(b.get("text", "") for b in first)
    tools = _TOOL.findall(text)
    clauses = []
    for tool, args in zip(tools, _ARGS.findall(text)):
        values = _words(json.loads(args))
        clauses.append(f"use the {tool.replace('_', ' ')} tool with " + (", ".join(values) or "no options"))
    return "Please " + ", then ".join(clauses) + "."


def error_body(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_fake0001"}


class FakeAnthropicAPI:
    def __init__(
        self,
        answer: Callable[[dict[str, Any]], str | list[dict[str, Any]]] = describe_from_prompt,
        *,
        cache_min_tokens: int = 0,
        unknown_models: tuple[str, ...] = (),
        batch_polls: int = 1,
        latency_s: float = 0.0,
    ):
        self.answer = answer
        self.cache_min_tokens = cache_min_tokens
        self.unknown_models = set(unknown_models)
        self.batch_polls = batch_polls
        self.latency_s = latency_s
        self.calls: list[tuple[str, str, Any, dict[str, str]]] = []
        self.failures: collections.deque[tuple[int, str, str, dict[str, str]]] = collections.deque()
        self.raw: collections.deque[bytes] = collections.deque()
        self._prefixes: set[str] = set()
        self.batches: dict[str, dict[str, Any]] = {}
        #: Per batch submission (1, 2, ...): custom_id index -> result type other than "succeeded".
        self.batch_outcomes: dict[int, dict[int, str]] = {}
        self._ids = itertools.count(1)
        self.in_flight = 0
        self.max_in_flight = 0

    # -- configuration -------------------------------------------------------------------------------

    def fail_next(self, kind: str, message: str = "", headers: dict[str, str] | None = None, times: int = 1) -> None:
        """The next ``times`` POST /v1/messages answer with this error."""
        for _ in range(times):
            self.failures.append((ERROR_STATUS[kind], kind, message or kind.replace("_", " "), headers or {}))

    def malformed_next(self, body: bytes) -> None:
        """The next POST /v1/messages answers 200 with this body as is (e.g. cut-off JSON)."""
        self.raw.append(body)

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.handle))

    def posts(self, path: str = "/v1/messages") -> list[Any]:
        return [body for method, p, body, _ in self.calls if method == "POST" and p == path]

    # -- the API -------------------------------------------------------------------------------------

    async def handle(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        body = json.loads(request.content) if request.content else None
        self.calls.append((request.method, path, body, dict(request.headers)))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            return self._route(request.method, path, body)
        finally:
            self.in_flight -= 1

    def _route(self, method: str, path: str, body: Any) -> httpx2.Response:
        if method == "POST" and path == "/v1/messages":
            if self.raw:
                return httpx2.Response(200, content=self.raw.popleft(), headers={"content-type": "application/json"})
            if self.failures:
                status, kind, message, headers = self.failures.popleft()
                return httpx2.Response(
                    status, json=error_body(kind, message), headers={"request-id": "req_f", **headers}
                )
            if body["model"] in self.unknown_models:
                return httpx2.Response(404, json=error_body("not_found_error", f"model: {body['model']}"))
            return httpx2.Response(200, json=self.message(body), headers={"request-id": "req_ok"})
        if method == "POST" and path == "/v1/messages/count_tokens":
            return httpx2.Response(200, json={"input_tokens": self._tokens(body, whole=True)})
        if method == "POST" and path == "/v1/messages/batches":
            return httpx2.Response(200, json=self._create_batch(body["requests"]))
        match = re.fullmatch(r"/v1/messages/batches/([^/]+)(/results)?", path)
        if method == "GET" and match:
            batch = self.batches.get(match.group(1))
            if batch is None:
                return httpx2.Response(404, json=error_body("not_found_error", "batch not found"))
            if match.group(2):
                return httpx2.Response(
                    200, content=self._results(batch), headers={"content-type": "application/binary"}
                )
            batch["polls"] += 1
            return httpx2.Response(200, json=self._batch_json(batch))
        return httpx2.Response(404, json=error_body("not_found_error", f"no route {method} {path}"))

    @staticmethod
    def _text(blocks: Any) -> str:
        if isinstance(blocks, str):
            return blocks
        return "".join(b.get("text", "") if isinstance(b, dict) else "" for b in blocks or ())

    def _tokens(self, body: dict[str, Any], whole: bool = False) -> int:
        parts = [json.dumps(body.get("tools", [])), self._text(body.get("system"))]
        if whole:
            parts += [self._text(m["content"]) for m in body["messages"]]
        return max(1, sum(len(p) for p in parts) // 4)

    def _usage(self, body: dict[str, Any]) -> dict[str, int]:
        system = body.get("system") or []
        blocks = system if isinstance(system, list) else [{"type": "text", "text": system}]
        marked = [i for i, b in enumerate(blocks) if b.get("cache_control")]
        total = max(
            1,
            (
                len(json.dumps(body.get("tools", [])))
                + len(self._text(blocks))
                + sum(len(self._text(m["content"])) for m in body["messages"])
            )
            // 4,
        )
        created = read = 0
        if marked:
            prefix = json.dumps([body.get("tools", []), blocks[: marked[-1] + 1]], sort_keys=True)
            prefix_tokens = max(
                1, (len(json.dumps(body.get("tools", []))) + len(self._text(blocks[: marked[-1] + 1]))) // 4
            )
            if prefix_tokens >= self.cache_min_tokens:
                if prefix in self._prefixes:
                    read = prefix_tokens
                else:
                    created = prefix_tokens
                    self._prefixes.add(prefix)
        return {
            "input_tokens": total - created - read,
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": read,
            "output_tokens": 20,
        }

    def message(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.answer(body)
        content = [{"type": "text", "text": answer}] if isinstance(answer, str) else answer
        tool_use = any(block.get("type") == "tool_use" for block in content)
        return {
            "id": f"msg_fake{next(self._ids):06d}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": "tool_use" if tool_use else "end_turn",
            "stop_sequence": None,
            "usage": self._usage(body),
        }

    def _create_batch(self, requests: list[dict[str, Any]]) -> dict[str, Any]:
        number = len(self.batches) + 1
        batch_id = f"msgbatch_fake{number:04d}"
        self.batches[batch_id] = {"id": batch_id, "number": number, "requests": requests, "polls": 0}
        return self._batch_json(self.batches[batch_id])

    def _outcome(self, batch: dict[str, Any], i: int) -> str:
        return self.batch_outcomes.get(batch["number"], {}).get(i, "succeeded")

    def _batch_json(self, batch: dict[str, Any]) -> dict[str, Any]:
        ended = batch["polls"] >= self.batch_polls
        n = len(batch["requests"])
        counts = {"processing": n, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if ended:
            counts["processing"] = 0
            for i in range(n):
                counts[self._outcome(batch, i).partition(":")[0]] += 1
        return {
            "id": batch["id"],
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": "2026-03-01T10:00:00Z",
            "expires_at": "2026-03-02T10:00:00Z",
            "ended_at": "2026-03-01T10:20:00Z" if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"https://api.anthropic.com/v1/messages/batches/{batch['id']}/results" if ended else None,
        }

    def _results(self, batch: dict[str, Any]) -> bytes:
        lines = []
        for i, request in enumerate(batch["requests"]):
            outcome = self._outcome(batch, i)
            if outcome == "succeeded":
                result = {"type": "succeeded", "message": self.message(request["params"])}
            elif outcome.startswith("errored"):
                kind = outcome.partition(":")[2] or "api_error"
                result = {"type": "errored", "error": error_body(kind, f"{kind} in batch")}
            else:
                result = {"type": outcome}
            lines.append(json.dumps({"custom_id": request["custom_id"], "result": result}))
        return ("\n".join(reversed(lines)) + "\n").encode()  # results come in no particular order


# -- the fake against the SDK ------------------------------------------------------------------------


def test_fake_speaks_the_sdk():
    anthropic = pytest.importorskip("anthropic")
    api = FakeAnthropicAPI(lambda body: "hello there", cache_min_tokens=10)

    async def go():
        client = anthropic.AsyncAnthropic(api_key="k", http_client=api.client(), max_retries=0)
        system = [{"type": "text", "text": "x" * 100, "cache_control": {"type": "ephemeral"}}]
        first = await client.messages.create(
            model="m", max_tokens=5, system=system, messages=[{"role": "user", "content": "hi"}]
        )
        second = await client.messages.create(
            model="m", max_tokens=5, system=system, messages=[{"role": "user", "content": "hi"}]
        )
        batch = await client.messages.batches.create(
            requests=[
                {
                    "custom_id": "a",
                    "params": {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
                }
            ]
        )
        batch = await client.messages.batches.retrieve(batch.id)
        results = [entry async for entry in await client.messages.batches.results(batch.id)]
        return first, second, batch, results

    first, second, batch, results = asyncio.run(go())
    assert first.content[0].text == "hello there"
    assert first.usage.cache_creation_input_tokens > 0 and second.usage.cache_read_input_tokens > 0
    assert batch.processing_status == "ended" and batch.request_counts.succeeded == 1
    assert results[0].custom_id == "a" and results[0].result.type == "succeeded"
