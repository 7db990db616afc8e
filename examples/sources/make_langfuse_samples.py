"""Writes ``langfuse_traces.jsonl`` with the real Langfuse Python SDK, so it is what Langfuse holds.

    pip install 'deepeyes[langfuse]'     # langfuse>=5.2 (brings its OTLP/HTTP exporter)
    python examples/sources/make_langfuse_samples.py   # rewrites langfuse_traces.jsonl beside it

A small travel agent is instrumented as Langfuse's documentation shows: ``@observe`` on the agent
(the trace's root observation), ``start_as_current_observation(as_type="generation")`` around each
model call (input: the messages and tools; output: the assistant message, OpenAI's shape), and
``@observe(as_type="tool")`` on each tool. Two steps run two tools each in parallel threads; two
calls raise (the SDK records level ERROR and the exception's text as ``statusMessage``); one trace
calls one tool twice with the same arguments; one has no tool call. The model is a script; no model API is called.

The SDK exports its spans over OTLP/HTTP (protobuf) to ``/api/public/otel/v1/traces`` of a
loopback fake Langfuse server defined here. The server decodes them with ``opentelemetry-proto``
and maps each span to an observation as Langfuse's ingestion does
(``packages/shared/src/server/otel/OtelIngestionProcessor.ts``: id = span id, parentObservationId =
parent span id, type = ``langfuse.observation.type`` upper-cased, input/output from
``langfuse.observation.input/output`` (JSON parsed), level from ``langfuse.observation.level`` else
ERROR for an ERROR status, statusMessage from ``langfuse.observation.status_message`` else the
status message; the trace's name, input and output from its root span, sessionId from
``session.id``). It serves them as ``GET /api/public/v2/observations`` (the endpoint the SDK's
``iter_observation_pages`` reads) and as the trace with its observations,
``GET /api/public/traces/{id}`` (the JSON users download; SDK 5 no longer wraps this endpoint, so it
is fetched with httpx). The script reads every trace both ways and checks that they agree, so the
observations written pass the SDK's own ``ObservationV2`` model. A line of the sample is one trace.

Ids come from a fixed id generator, so reruns give the same ids; timestamps are the run's own.
"""

from __future__ import annotations

import contextvars
import gzip
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

HERE = Path(__file__).resolve().parent
SAMPLE = HERE / "langfuse_traces.jsonl"
MODEL = "gpt-4.1-mini"
PROJECT = "deepeyes-sample"
SYSTEM = "You are a travel assistant. Use the tools to answer; never guess values a tool can give."

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather of a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "search_hotels",
            "description": "Hotels of a city with a free room on a night.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "night": {"type": "string"}},
                "required": ["city", "night"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "book_hotel",
            "description": "Books a room in a hotel for a night.",
            "parameters": {
                "type": "object",
                "properties": {"hotel": {"type": "string"}, "night": {"type": "string"}},
                "required": ["hotel", "night"],
            },
        },
    },
]

#: Per session: the request, then per model turn (text, [(tool, arguments)]); the last turn answers.
SCRIPTS: dict[str, tuple[str, list[tuple[str | None, list[tuple[str, dict[str, Any]]]]]]] = {
    "sess-paris": ("What's the weather in Paris right now?", [
        (None, [("get_weather", {"city": "Paris"})]),
        ("It is 18 °C and cloudy in Paris.", []),
    ]),
    "sess-japan": ("Compare the weather in Tokyo and Osaka.", [
        ("Checking both cities at once.", [("get_weather", {"city": "Tokyo"}), ("get_weather", {"city": "Osaka"})]),
        ("Tokyo is 21 °C and sunny; Osaka is 23 °C with light rain.", []),
    ]),
    "sess-atlantis": ("Book me a hotel in Atlantis for 2025-12-01.", [
        ("Let me find hotels first.", [("search_hotels", {"city": "Atlantis", "night": "2025-12-01"})]),
        (None, [("book_hotel", {"hotel": "Poseidon Palace", "night": "2025-12-01"})]),
        ("I could not book the Poseidon Palace: the booking service does not know it.", []),
    ]),
    "sess-rome": ("Weather and a cheap hotel in Rome for 2025-12-05, and book it.", [
        ("Weather and hotels at once.", [
            ("get_weather", {"city": "Rome"}),
            ("search_hotels", {"city": "Rome", "night": "2025-12-05"}),
        ]),
        ("Coral Inn is the cheapest.", [("book_hotel", {"hotel": "Coral Inn", "night": "2025-12-05"})]),
        ("Rome: 16 °C and windy. You are booked at the Coral Inn (confirmation CI-2025-12-05).", []),
    ]),
    "sess-oslo": ("Is it still snowing in Oslo? Check twice, the forecast changes fast.", [
        (None, [("get_weather", {"city": "Oslo"})]),
        ("Checking again.", [("get_weather", {"city": "Oslo"})]),
        ("Both checks say -3 °C and snow in Oslo.", []),
    ]),
    "sess-berlin": ("Weather in Berlin?", [
        ("Looking it up.", [("get_weather", {"city": "Berlin"})]),
        ("Berlin: 9 °C, overcast.", []),
    ]),
    "sess-lisbon": ("Find a hotel in Lisbon for 2025-12-10 and book the cheapest.", [
        (None, [("search_hotels", {"city": "Lisbon", "night": "2025-12-10"})]),
        (None, [("book_hotel", {"hotel": "Coral Inn", "night": "2025-12-10"})]),
        ("Booked: Coral Inn, 2025-12-10 (confirmation CI-2025-12-10).", []),
    ]),
    "sess-narnia": ("What's the weather in Narnia?", [
        (None, [("get_weather", {"city": "Narnia"})]),
        ("I could not find Narnia in the weather service.", []),
    ]),
    "sess-greeting": ("Hi! What can you do?", [
        ("I can check the weather and find and book hotels.", []),
    ]),
}

WEATHER = {
    "Paris": (18, "cloudy"), "Tokyo": (21, "sunny"), "Osaka": (23, "light rain"),
    "Rome": (16, "windy"), "Oslo": (-3, "snow"), "Berlin": (9, "overcast"),
}


class HotelNotFound(Exception):
    pass


def _tools(observe: Any) -> dict[str, Any]:
    @observe(as_type="tool", name="get_weather")
    def get_weather(city: str) -> dict[str, Any]:
        if city not in WEATHER:
            raise ValueError(f"unknown city: {city}")
        celsius, sky = WEATHER[city]
        return {"city": city, "celsius": celsius, "sky": sky}

    @observe(as_type="tool", name="search_hotels")
    def search_hotels(city: str, night: str) -> list[dict[str, Any]]:
        return [{"hotel": "Poseidon Palace", "price_eur": 240}, {"hotel": "Coral Inn", "price_eur": 95}]

    @observe(as_type="tool", name="book_hotel")
    def book_hotel(hotel: str, night: str) -> dict[str, Any]:
        if hotel != "Coral Inn":
            raise HotelNotFound(f"no hotel named {hotel!r} in the booking service")
        return {"hotel": hotel, "night": night, "confirmation": f"CI-{night}"}

    return {"get_weather": get_weather, "search_hotels": search_hotels, "book_hotel": book_hotel}


def _assistant(session: str, turn: int, text: str | None, calls: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = [
            {"id": f"call_{session}_{turn}_{i}", "type": "function",
             "function": {"name": name, "arguments": json.dumps(arguments)}}
            for i, (name, arguments) in enumerate(calls)
        ]
    return message


def _public_key(base_url: str) -> str:
    """One key per server: the SDK keeps one client per public key for the process's lifetime."""
    return "pk-lf-sample-" + base_url.rsplit(":", 1)[1]


def run_agents(base_url: str) -> list[str]:
    """Runs every script through the instrumented agent; returns the trace ids."""
    from langfuse import Langfuse, observe, propagate_attributes
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.id_generator import IdGenerator

    class Counting(IdGenerator):
        """Fixed ids, so reruns give the same sample."""

        def __init__(self) -> None:
            self.spans = 0
            self.traces = 0
            self.lock = threading.Lock()

        def generate_span_id(self) -> int:
            with self.lock:
                self.spans += 1
                return 0x5EED000000000000 + self.spans

        def generate_trace_id(self) -> int:
            with self.lock:
                self.traces += 1
                return 0x1A4BF05E0000000000000000000000 + self.traces

    # Its own provider: without one the SDK installs a global provider, which a process (a test
    # session) can set only once, and which shutdown() would close for everyone after it.
    provider = TracerProvider(id_generator=Counting())
    langfuse = Langfuse(
        public_key=_public_key(base_url), secret_key="sk-lf-sample", base_url=base_url,
        tracer_provider=provider, environment="sample", flush_at=1000,
    )
    tools = _tools(observe)
    trace_ids = []

    @observe(name="travel-agent")
    def agent(session: str, request: str) -> str | None:
        trace_ids.append(langfuse.get_current_trace_id())
        messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": request}]
        for turn, (text, calls) in enumerate(SCRIPTS[session][1]):
            with langfuse.start_as_current_observation(
                as_type="generation", name="chat", model=MODEL, input={"messages": messages, "tools": TOOLS}
            ) as generation:
                message = _assistant(session, turn, text, calls)
                generation.update(output=message, usage_details={"input": 40 * (turn + 1), "output": 12})
            messages.append(message)
            if not calls:
                return text
            with ThreadPoolExecutor(max_workers=len(calls)) as pool:  # the turn's calls run in parallel
                futures = [
                    pool.submit(contextvars.copy_context().run, _call, tools[name], arguments)
                    for name, arguments in calls
                ]
                outcomes = [future.result() for future in futures]
            for call, outcome in zip(message["tool_calls"], outcomes):
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": outcome})
        return None

    for session, (request, _) in SCRIPTS.items():
        with propagate_attributes(session_id=session, user_id="user-7", trace_name="travel-agent"):
            agent(session, request, langfuse_public_key=_public_key(base_url))  # one client per run
    langfuse.flush()
    langfuse.shutdown()
    return trace_ids


def _call(tool: Any, arguments: dict[str, Any]) -> str:
    try:
        return json.dumps(tool(**arguments))
    except (HotelNotFound, ValueError) as exc:
        return f"error: {exc}"


# -- the fake Langfuse server -----------------------------------------------------------------


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in any_value.kvlist_value.values}
    return getattr(any_value, kind) if kind else None


def _io(value: Any) -> Any:
    """Langfuse stores input/output as the attribute's text and returns it parsed where it is JSON."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _iso(nanos: int) -> str:
    return datetime.fromtimestamp(nanos / 1e9, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeLangfuse:
    """Receives OTLP/HTTP exports and serves what Langfuse's public API returns for them."""

    def __init__(self) -> None:
        self.observations: dict[str, list[dict[str, Any]]] = {}
        self.traces: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def ingest(self, body: bytes) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self._span(span)

    def _span(self, span: Any) -> None:
        attributes = {kv.key: _value(kv.value) for kv in span.attributes}
        trace_id, span_id = span.trace_id.hex(), span.span_id.hex()
        parent = span.parent_span_id.hex() or None
        error = span.status.code == 2
        start, end = _iso(span.start_time_unix_nano), _iso(span.end_time_unix_nano)
        observation = {
            "id": span_id,
            "traceId": trace_id,
            "type": str(attributes.get("langfuse.observation.type", "span")).upper(),
            "name": span.name,
            "startTime": start,
            "endTime": end,
            "completionStartTime": None,
            "model": attributes.get("langfuse.observation.model.name"),
            "modelParameters": _io(attributes.get("langfuse.observation.model.parameters")),
            "input": _io(attributes.get("langfuse.observation.input")),
            "output": _io(attributes.get("langfuse.observation.output")),
            "metadata": {
                k.removeprefix("langfuse.observation.metadata."): v
                for k, v in attributes.items()
                if k.startswith("langfuse.observation.metadata.")
            },
            "level": attributes.get("langfuse.observation.level") or ("ERROR" if error else "DEFAULT"),
            "statusMessage": attributes.get("langfuse.observation.status_message") or span.status.message or None,
            "parentObservationId": parent,
            "usageDetails": _io(attributes.get("langfuse.observation.usage_details")) or {},
            "environment": attributes.get("langfuse.environment", "default"),
            "latency": (span.end_time_unix_nano - span.start_time_unix_nano) / 1e9,
        }
        with self.lock:
            self.observations.setdefault(trace_id, []).append(observation)
            if parent is None:  # the root span makes the trace
                self.traces[trace_id] = {
                    "id": trace_id,
                    "timestamp": start,
                    "name": attributes.get("langfuse.trace.name", span.name),
                    "input": observation["input"],
                    "output": observation["output"],
                    "sessionId": attributes.get("session.id"),
                    "release": None,
                    "version": None,
                    "userId": attributes.get("user.id"),
                    "metadata": {},
                    "tags": list(attributes.get("langfuse.trace.tags") or []),
                    "public": False,
                    "environment": observation["environment"],
                    "htmlPath": f"/project/{PROJECT}/traces/{trace_id}",
                    "latency": observation["latency"],
                    "totalCost": 0.0,
                }

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        with self.lock:
            if trace_id not in self.traces:
                return None
            observations = sorted(self.observations[trace_id], key=lambda o: (o["startTime"], o["id"]))
            return {**self.traces[trace_id], "observations": observations, "scores": []}

    def v2_observations(self, trace_id: str | None) -> dict[str, Any]:
        with self.lock:
            rows = [o for t, os in self.observations.items() if trace_id in (None, t) for o in os]
        rows = [{**o, "projectId": PROJECT, "isRootObservation": o["parentObservationId"] is None} for o in rows]
        return {"data": sorted(rows, key=lambda o: (o["startTime"], o["id"])), "meta": {"cursor": None}}


def serve(fake: FakeLangfuse) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path != "/api/public/otel/v1/traces":
                self._send(404, b'{"message": "not found"}')
                return
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            fake.ingest(body)
            self._send(200, b"", "application/x-protobuf")  # an empty ExportTraceServiceResponse

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query)
            if url.path == "/api/public/v2/observations":
                trace_id = query.get("traceId", [None])[0]
                self._send(200, json.dumps(fake.v2_observations(trace_id)).encode())
            elif url.path.startswith("/api/public/traces/"):
                trace = fake.trace(url.path.rsplit("/", 1)[1])
                self._send(*((200, json.dumps(trace).encode()) if trace else (404, b'{"message": "no trace"}')))
            else:
                self._send(404, b'{"message": "not found"}')

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def langfuse_exports() -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Runs the agents against a fresh fake server; yields each trace as ``GET
    /api/public/traces/{id}`` returns it, with its observations as the SDK's
    ``iter_observation_pages`` read them (``ObservationV2``, dumped by alias)."""
    import httpx
    from langfuse import Langfuse

    fake = FakeLangfuse()
    server = serve(fake)
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        trace_ids = run_agents(base_url)
        reader = Langfuse(public_key=_public_key(base_url), secret_key="sk-lf-sample", base_url=base_url, tracing_enabled=False)
        for trace_id in trace_ids:
            trace = httpx.get(f"{base_url}/api/public/traces/{trace_id}", auth=(_public_key(base_url), "sk-lf-sample")).json()
            rows = [row for page in reader.iter_observation_pages(trace_id=trace_id, fields="core,basic,io,model")
                    for row in page.data]
            seen = {(o["id"], o["type"], json.dumps(o["input"]), json.dumps(o["output"])) for o in trace["observations"]}
            read = {(r.id, r.type, json.dumps(r.input), json.dumps(r.output)) for r in rows}
            if seen != read:
                raise AssertionError(f"trace {trace_id}: the two endpoints disagree")
            yield trace, [row.model_dump(mode="json", by_alias=True) for row in rows]
    finally:
        server.shutdown()


def langfuse_traces() -> Iterator[dict[str, Any]]:
    """The sample's lines: each trace as the public API returns it."""
    for trace, _ in langfuse_exports():
        yield trace


def main() -> None:
    traces = list(langfuse_traces())
    SAMPLE.write_text("".join(json.dumps(trace, ensure_ascii=False) + "\n" for trace in traces))
    print(f"wrote {SAMPLE} ({len(traces)} traces)")


if __name__ == "__main__":
    main()
