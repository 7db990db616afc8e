"""Writes the shipped sample Phase-1 log: tool invocations of eight agents, as BaselineTracker stores them.

    python examples/generate_sample_logs.py --count 4000 --out examples/logs/invocations.jsonl
    python examples/generate_sample_logs.py --count 20 --out examples/logs/broken.jsonl --broken

One JSON object a line, with exactly these fields: ``invocation_id`` ("inv-000001", in file
order), ``tool_name``, ``agent_name``, ``session_id`` (a UUID, or null with
``--no-session-ids``), ``parameters``, ``result`` (null unless the call succeeded), ``status``
("success" | "failure" | "timeout"), ``error`` (null on success), ``latency_ms`` (2 decimals) and
``timestamp`` (ISO 8601, UTC, microseconds, "+00:00"). Lines are in time order, so the sessions of
different agents interleave; within a session timestamps strictly increase.

What makes it look like a real log:

- 22 tools, each with a small argument schema whose values come from small vocabularies (six
  tables, five Slack channels, four buckets...), so a task text can name every value and a small
  model can learn to copy it.
- 8 agents, each with a few multi-step workflows (cache_get -> database_query -> cache_set,
  search_web -> http_get -> anthropic_api -> slack_post, ...) and some single calls. The length of
  a planned session is drawn as 1 call 30%, 2-3 calls 40%, 4-5 calls 22%, 6+ calls 8%; the calls
  within a session share their values (the key a cache_get misses is the key cache_set writes).
- Each tool fails at its own rate (1% for cache_set up to 13% for http_get and anthropic_api) with
  the errors such tools really give; timeouts have status "timeout" and last as long as the
  timeout. After a failure an agent retries (mostly after transient errors), gives up, or goes on.
- Latencies are log-normal per tool (cache ~2 ms, database ~40 ms, LLM ~900 ms and more with
  more max_tokens); results fit the arguments (rows <= limit, output_tokens <= max_tokens).
- A few secrets and personal data, as real logs have them: e-mail addresses in send_email ``to``
  (a handful personal ones), three http_get calls with an API key in ``headers``, one login call
  with a ``password``. Nothing marks them; redaction has to find them.

``--broken`` writes the file for tests of error reporting instead: ``--count`` valid lines (20
for the shipped file) with three bad ones among them: line 8 is not JSON (a stray text log line),
line 16 is a JSON object without ``tool_name``, and the last line is torn (truncated JSON, no
trailing newline), as after a crash.

Deterministic: standard library only, one ``random.Random(seed)``, a fixed clock; the same
arguments give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

START = datetime(2025, 11, 10, tzinfo=timezone.utc)  # a Monday; the log covers one week
DAYS = 7

# ---------------------------------------------------------------- vocabularies (kept small)

TABLES = ["users", "orders", "products", "invoices", "tickets", "events"]
CACHE_KEYS = {
    "users": "users:active",
    "orders": "orders:daily",
    "products": "products:top",
    "invoices": "invoices:overdue",
    "tickets": "tickets:open",
    "events": "events:hourly",
}
OTHER_CACHE_KEYS = ["feature_flags", "rate_limit:api", "calendar:free_slots", "exchange_rates:eur"]
BUCKETS = ["acme-reports", "acme-exports", "acme-backups", "ml-artifacts"]
S3_KEYS = {
    "acme-reports": ["weekly/2025-11-07/summary.pdf", "monthly/2025-10/revenue.xlsx"],
    "acme-exports": ["orders/2025-11-09.csv", "customers/full.parquet"],
    "acme-backups": ["postgres/2025-11-09.dump"],
    "ml-artifacts": ["embeddings/docs-kb-v3.npy", "models/churn-v2.pkl"],
}
FILES_READ = ["/var/log/app/error.log", "/etc/app/config.yaml", "/data/reports/q3_summary.csv", "/data/exports/customers.json"]
FILES_WRITE = ["/tmp/report.md", "/data/reports/weekly_summary.csv", "/tmp/analysis.json", "/data/exports/orders.csv"]
PDFS = ["/data/contracts/globex_msa.pdf", "/data/invoices/INV-20931.pdf", "/data/papers/attention_is_all_you_need.pdf"]
TOPICS = ["orders.created", "tickets.escalated", "reports.ready", "alerts.ops"]
CHANNELS = ["#ops-alerts", "#support", "#analytics", "#incidents", "#research"]
METRICS = ["api.latency_p99_ms", "orders.daily_count", "tickets.open", "jobs.failed", "queue.lag_seconds"]
MODELS = ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"]
INDEXES = ["docs-kb", "support-tickets", "product-catalog"]
CUSTOMERS = {  # customer id -> contact, as a CRM holds them
    "CUST-1042": "j.alvarez@globex.com",
    "CUST-2213": "priya.natarajan@initech.io",
    "CUST-3307": "m.schneider@umbrella-corp.de",
    "CUST-4519": "tom.okafor@hooli.com",
}
TEAM_ADDRESSES = [
    "ops-oncall@acme-corp.com", "analytics-team@acme-corp.com", "finance@acme-corp.com", "support-leads@acme-corp.com",
]
PERSONAL_ADDRESSES = ["dana.whitfield87@gmail.com", "r.kowalski@outlook.com"]  # rare: ~1% of send_email
QUERIES = [
    "kubernetes pod crashloopbackoff oom",
    "postgres connection pool exhausted",
    "competitor pricing enterprise plan 2025",
    "EU AI Act obligations summary",
    "vector database benchmark 2025",
]
URLS = [
    "https://status.acme-corp.com/api/v2/status.json",
    "https://api.acme-corp.com/healthz",
    "https://docs.python.org/3/library/asyncio.html",
    "https://en.wikipedia.org/wiki/Retrieval-augmented_generation",
    "https://arxiv.org/abs/2310.06825",
    "https://www.globex.com/pricing",
]
HEALTH_URLS = URLS[:2]
RESEARCH_URLS = URLS[2:]
TICKET_IDS = ["TCK-8812", "TCK-8830", "TCK-8857", "TCK-8901"]
DATES = ["2025-11-17", "2025-11-18", "2025-11-19", "2025-11-20", "2025-11-21"]
MEETINGS = ["Incident review", "Weekly analytics sync", "Customer call: Globex", "Quarterly planning"]
LOG_MESSAGES = {
    "info": ["nightly export finished", "cache warmed", "report generated"],
    "warning": ["queue lag above 60s", "retrying upstream call"],
    "error": ["health check failed", "export job failed"],
}
SUBJECTS = ["Weekly report", "Your support ticket", "Invoice overdue reminder", "Incident summary", "Meeting invitation"]


# ---------------------------------------------------------------- tools

@dataclass(frozen=True)
class Err:
    status: str  # "failure" or "timeout"
    message: str | Callable[[dict[str, Any], random.Random], str]
    transient: bool  # worth a retry
    weight: float = 1.0


@dataclass(frozen=True)
class Tool:
    fail_rate: float
    median_ms: float
    sigma: float
    errors: list[Err]
    result: Callable[[dict[str, Any], random.Random], Any]
    timeout_s: float = 30.0  # how long a timeout lasts, unless the call names timeout_seconds


def _hex(r: random.Random, n: int) -> str:
    return f"{r.getrandbits(4 * n):0{n}x}"


def _timeout_after(default: int) -> Callable[[dict[str, Any], random.Random], str]:
    return lambda p, r: f"timeout after {p.get('timeout_seconds', default)}s"


def _db_result(p: dict[str, Any], r: random.Random) -> Any:
    op, limit = p["operation"], p.get("limit", 100)
    if op == "select":
        return {"rows": r.randint(0 if r.random() < 0.05 else 1, limit), "table": p["table"]}
    if op == "count":
        return {"count": r.randint(40, 250_000)}
    if op == "aggregate":
        return {"rows": r.randint(1, min(limit, 31)), "groups": r.choice(["day", "region", "plan"])}
    return {"rows_affected": r.randint(1, 25)}


def _llm_result(p: dict[str, Any], r: random.Random) -> Any:
    cap = p["max_tokens"]
    out = min(cap, int(cap * r.uniform(0.08, 0.7)) if r.random() > 0.04 else cap)
    return {
        "id": f"msg_01{_hex(r, 22)}",
        "stop_reason": "max_tokens" if out == cap else "end_turn",
        "input_tokens": r.randint(300, 6000),
        "output_tokens": out,
    }


def _s3_path(p: dict[str, Any]) -> str:
    return f"s3://{p['bucket']}/{p['key']}"


TOOLS: dict[str, Tool] = {
    "database_query": Tool(0.03, 40, 0.7, [
        Err("timeout", "canceling statement due to statement timeout", True, 2),
        Err("failure", "could not connect to server: Connection refused", True, 1),
        Err("failure", "deadlock detected", True, 1),
        Err("failure", lambda p, r: f'permission denied for table {p["table"]}', False, 1),
    ], _db_result),
    "cache_get": Tool(0.01, 2, 0.5, [
        Err("failure", "redis: connection refused (127.0.0.1:6379)", True, 2),
        Err("timeout", "timeout after 1s", True, 1),
    ], lambda p, r: {"hit": r.random() < 0.7, "value_bytes": r.randint(200, 48_000)}, timeout_s=1),
    "cache_set": Tool(0.01, 2.5, 0.5, [
        Err("failure", "OOM command not allowed when used memory > 'maxmemory'", False, 1),
        Err("failure", "redis: connection refused (127.0.0.1:6379)", True, 2),
    ], lambda p, r: {"ok": True}),
    "http_get": Tool(0.13, 250, 0.8, [
        Err("failure", "HTTP 503 Service Unavailable", True, 4),
        Err("failure", "HTTP 502 Bad Gateway", True, 2),
        Err("failure", "HTTP 404 Not Found", False, 1),
        Err("failure", "HTTP 429 Too Many Requests", True, 1),
        Err("failure", "SSL: CERTIFICATE_VERIFY_FAILED", False, 0.5),
        Err("timeout", _timeout_after(10), True, 3),
    ], lambda p, r: {
        "status_code": 200,
        "content_type": "application/json" if "api" in p["url"] else "text/html; charset=utf-8",
        "content_length": r.randint(400, 180_000),
    }),
    "send_email": Tool(0.03, 180, 0.5, [
        Err("failure", "SMTP 421 4.7.0 Try again later", True, 2),
        Err("failure", lambda p, r: f"SMTP 550 5.1.1 <{p['to']}>: Recipient address rejected", False, 1),
    ], lambda p, r: {"message_id": f"<{_hex(r, 16)}@mail.acme-corp.com>", "accepted": True}),
    "file_read": Tool(0.04, 3, 0.9, [
        Err("failure", lambda p, r: f"FileNotFoundError: [Errno 2] No such file or directory: '{p['path']}'", False, 2),
        Err("failure", lambda p, r: f"PermissionError: [Errno 13] Permission denied: '{p['path']}'", False, 1),
    ], lambda p, r: {"bytes": (b := r.randint(900, 2_000_000)), "lines": b // r.randint(60, 120)}),
    "file_write": Tool(0.02, 6, 0.8, [
        Err("failure", "OSError: [Errno 28] No space left on device", False, 1),
        Err("failure", lambda p, r: f"PermissionError: [Errno 13] Permission denied: '{p['path']}'", False, 1),
    ], lambda p, r: {"bytes_written": p["bytes"]}),
    "search_web": Tool(0.05, 650, 0.5, [
        Err("failure", "rate_limit_error: 429 Too Many Requests", True, 3),
        Err("failure", "HTTP 503 Service Unavailable", True, 1),
        Err("timeout", "timeout after 10s", True, 1),
    ], lambda p, r: {"results": p["max_results"], "top_url": r.choice(RESEARCH_URLS)}, timeout_s=10),
    "vector_search": Tool(0.02, 35, 0.6, [
        Err("failure", lambda p, r: f"index '{p['index']}' is not ready (rebuilding)", True, 1),
        Err("timeout", "timeout after 5s", True, 1),
    ], lambda p, r: {"matches": p["top_k"], "top_score": round(r.uniform(0.62, 0.94), 3)}, timeout_s=5),
    "s3_upload": Tool(0.04, 120, 0.7, [
        Err("failure", lambda p, r: f"permission denied: {_s3_path(p)}", False, 2),
        Err("failure", "SlowDown: Please reduce your request rate. (503)", True, 1),
    ], lambda p, r: {"etag": f'"{_hex(r, 32)}"', "size_bytes": r.randint(4_000, 25_000_000)}),
    "s3_download": Tool(0.05, 90, 0.7, [
        Err("failure", lambda p, r: f"NoSuchKey: {_s3_path(p)}", False, 2),
        Err("failure", lambda p, r: f"permission denied: {_s3_path(p)}", False, 1),
        Err("timeout", "timeout after 30s", True, 1),
    ], lambda p, r: {"size_bytes": r.randint(4_000, 25_000_000), "last_modified": "2025-11-09T03:12:09+00:00"}),
    "queue_publish": Tool(0.02, 8, 0.6, [
        Err("failure", "KafkaError: NOT_LEADER_FOR_PARTITION", True, 1),
        Err("timeout", "timeout after 5s", True, 1),
    ], lambda p, r: {"message_id": _hex(r, 12), "partition": r.randint(0, 11), "offset": r.randint(10_000, 9_999_999)},
       timeout_s=5),
    "queue_consume": Tool(0.03, 60, 0.9, [
        Err("failure", "KafkaError: REBALANCE_IN_PROGRESS", True, 2),
        Err("failure", "KafkaError: GROUP_AUTHORIZATION_FAILED", False, 1),
    ], lambda p, r: {"messages": r.randint(0, p["max_messages"])}),
    "metrics_push": Tool(0.01, 5, 0.5, [
        Err("failure", "HTTP 400 Bad Request: out of order sample", False, 1),
    ], lambda p, r: {"accepted": True}),
    "log_write": Tool(0.01, 1.5, 0.5, [
        Err("failure", "BrokenPipeError: [Errno 32] Broken pipe", True, 1),
    ], lambda p, r: {"ok": True}),
    "calendar_create": Tool(0.03, 220, 0.5, [
        Err("failure", "HTTP 409 Conflict: time slot unavailable", False, 2),
        Err("failure", "invalid_grant: Token has been expired or revoked", False, 1),
    ], lambda p, r: {"event_id": f"evt_{_hex(r, 12)}", "status": "confirmed"}),
    "slack_post": Tool(0.04, 150, 0.5, [
        Err("failure", "rate_limited: retry after 30s", True, 2),
        Err("failure", "not_in_channel", False, 1),
        Err("failure", "channel_not_found", False, 0.5),
    ], lambda p, r: {"ok": True, "ts": None}),  # the message's time, filled in when the call is placed
    "anthropic_api": Tool(0.13, 900, 0.6, [
        Err("failure", "rate_limit_error: 429", True, 4),
        Err("failure", "overloaded_error: 529 Overloaded", True, 3),
        Err("failure", "api_error: 500 Internal server error", True, 1),
        Err("failure", "invalid_request_error: prompt is too long: 212345 tokens > 200000 maximum", False, 0.5),
        Err("timeout", "timeout after 60s", True, 1.5),
    ], _llm_result, timeout_s=60),
    "code_execute": Tool(0.08, 1200, 0.8, [
        Err("failure", "SyntaxError: invalid syntax (line 3)", False, 2),
        Err("failure", "NameError: name 'df' is not defined", False, 2),
        Err("failure", "MemoryError: container memory limit (2 GiB) exceeded", False, 1),
        Err("timeout", _timeout_after(30), True, 2),
    ], lambda p, r: {"exit_code": 0, "stdout_bytes": r.randint(0, 40_000)}),
    "pdf_extract": Tool(0.06, 400, 0.7, [
        Err("failure", "PDFSyntaxError: EOF marker not found", False, 2),
        Err("failure", "encrypted PDF: password required", False, 1),
    ], lambda p, r: {"pages": (n := {"1": 1, "1-5": 5}.get(p["pages"], r.randint(6, 48))), "chars": n * r.randint(1800, 4200)}),
    "crm_lookup": Tool(0.02, 70, 0.5, [
        Err("failure", lambda p, r: f"HTTP 404 Not Found: customer {p['customer_id']}", False, 1),
        Err("failure", "HTTP 503 Service Unavailable", True, 1),
    ], lambda p, r: {
        "customer_id": p["customer_id"],
        "plan": r.choice(["starter", "pro", "enterprise"]),
        "open_tickets": r.randint(0, 4),
    }),
    "ticket_update": Tool(0.02, 85, 0.5, [
        Err("failure", "HTTP 409 Conflict: ticket was modified by another user", True, 1),
        Err("failure", "HTTP 403 Forbidden", False, 1),
    ], lambda p, r: {"ticket_id": p["ticket_id"], "status": p["status"], "updated": True}),
}


# ---------------------------------------------------------------- workflows

Step = tuple[str, dict[str, Any]]
Workflow = Callable[[random.Random], list[Step]]
c = random.Random.choice  # c(r, seq): a value from a vocabulary


def _db(r: random.Random, table: str | None = None, op: str | None = None) -> Step:
    op = op or r.choices(["select", "count", "aggregate"], [6, 2, 2])[0]
    params: dict[str, Any] = {"operation": op, "table": table or c(r, TABLES)}
    if op in ("select", "aggregate"):
        params["limit"] = c(r, [10, 50, 100, 500])
    return "database_query", params


def _llm(r: random.Random, model: str | None = None) -> Step:
    return "anthropic_api", {"model": model or r.choices(MODELS, [5, 4, 1])[0], "max_tokens": c(r, [512, 1024, 1024, 4096])}


def _slack(r: random.Random, channel: str, texts: list[str]) -> Step:
    return "slack_post", {"channel": channel, "text": c(r, texts)}


def _email(r: random.Random, to: str, subject: str) -> Step:
    if r.random() < 0.01:
        to = c(r, PERSONAL_ADDRESSES)
    return "send_email", {"to": to, "subject": subject}


def _upload_key(r: random.Random, bucket: str) -> str:
    return c(r, S3_KEYS[bucket])


def _file_write(r: random.Random, path: str | None = None) -> Step:
    return "file_write", {"path": path or c(r, FILES_WRITE), "bytes": c(r, [2048, 8192, 65536, 524288])}


def _cache_aside(r: random.Random) -> list[Step]:
    table = c(r, TABLES)
    key = CACHE_KEYS[table]
    return [("cache_get", {"key": key}), _db(r, table, "select"),
            ("cache_set", {"key": key, "ttl_seconds": c(r, [300, 3600, 86400])})]


def _report_to_s3(r: random.Random) -> list[Step]:
    table = c(r, TABLES)
    return [_db(r, table, "aggregate"), ("code_execute", {"language": "python", "timeout_seconds": c(r, [30, 60])}),
            _file_write(r, "/data/reports/weekly_summary.csv"),
            ("s3_upload", {"bucket": "acme-reports", "key": _upload_key(r, "acme-reports")})]


def _analytics_long(r: random.Random) -> list[Step]:
    table = c(r, TABLES)
    return [("cache_get", {"key": CACHE_KEYS[table]}), _db(r, table, "aggregate"),
            ("code_execute", {"language": "python", "timeout_seconds": 60}), _file_write(r, "/data/reports/weekly_summary.csv"),
            ("s3_upload", {"bucket": "acme-reports", "key": _upload_key(r, "acme-reports")}),
            _slack(r, "#analytics", ["Weekly report uploaded", "Dashboard numbers refreshed"])]


def _support_reply(r: random.Random) -> list[Step]:
    cust = c(r, sorted(CUSTOMERS))
    return [("crm_lookup", {"customer_id": cust}),
            ("vector_search", {"index": "support-tickets", "query": c(r, QUERIES[:2]), "top_k": 5}),
            _llm(r, "claude-sonnet-4-5"), _email(r, CUSTOMERS[cust], "Your support ticket")]


def _support_long(r: random.Random) -> list[Step]:
    cust = c(r, sorted(CUSTOMERS))
    return [("crm_lookup", {"customer_id": cust}), _db(r, "tickets", "select"),
            ("vector_search", {"index": "support-tickets", "query": c(r, QUERIES[:2]), "top_k": c(r, [3, 5])}),
            _llm(r, "claude-sonnet-4-5"), _email(r, CUSTOMERS[cust], "Your support ticket"),
            ("ticket_update", {"ticket_id": c(r, TICKET_IDS), "status": "resolved"})]


def _research_brief(r: random.Random) -> list[Step]:
    return [("search_web", {"query": c(r, QUERIES), "max_results": c(r, [5, 10])}),
            ("http_get", {"url": c(r, RESEARCH_URLS), "timeout_seconds": c(r, [10, 30])}), _llm(r),
            _slack(r, "#research", ["Research brief ready", "Summary posted in thread"])]


def _research_long(r: random.Random) -> list[Step]:
    first, second = r.sample(RESEARCH_URLS, 2)
    return [("search_web", {"query": c(r, QUERIES), "max_results": 10}), ("http_get", {"url": first, "timeout_seconds": 30}),
            ("http_get", {"url": second, "timeout_seconds": 30}), ("pdf_extract", {"path": PDFS[2], "pages": "all"}),
            _llm(r, "claude-opus-4-1"), _file_write(r, "/tmp/report.md"), _slack(r, "#research", ["Research brief ready"])]


def _ops_incident(r: random.Random) -> list[Step]:
    return [("http_get", {"url": c(r, HEALTH_URLS), "timeout_seconds": 5}),
            ("log_write", {"level": "error", "message": "health check failed"}),
            _slack(r, "#incidents", ["API health check failing, investigating", "Paging on-call: status endpoint down"]),
            ("calendar_create", {"title": "Incident review", "date": c(r, DATES), "duration_minutes": c(r, [30, 60])})]


def _ops_long(r: random.Random) -> list[Step]:
    return [("http_get", {"url": c(r, HEALTH_URLS), "timeout_seconds": 5}), ("file_read", {"path": "/var/log/app/error.log"}),
            ("code_execute", {"language": "bash", "timeout_seconds": 10}),
            ("log_write", {"level": "warning", "message": "retrying upstream call"}),
            ("metrics_push", {"metric": "jobs.failed", "value": r.randint(1, 9)}),
            _slack(r, "#ops-alerts", ["Restarted worker pool after errors"]),
            _email(r, "ops-oncall@acme-corp.com", "Incident summary")]


def _metric(r: random.Random) -> Step:
    metric = c(r, METRICS)
    values = {"api.latency_p99_ms": [210, 340, 480, 720, 950], "orders.daily_count": [1240, 1875, 2310, 3020]}
    value = c(r, values.get(metric, list(range(13))))
    return "metrics_push", {"metric": metric, "value": value}


def _log(r: random.Random) -> Step:
    level = r.choices(["info", "warning", "error"], [6, 3, 1])[0]
    return "log_write", {"level": level, "message": c(r, LOG_MESSAGES[level])}


def _etl(r: random.Random) -> list[Step]:
    bucket = c(r, ["acme-exports", "ml-artifacts"])
    return [("queue_consume", {"topic": "orders.created", "max_messages": 50}),
            ("s3_download", {"bucket": bucket, "key": _upload_key(r, bucket)}),
            ("code_execute", {"language": "python", "timeout_seconds": 60}), _db(r, "orders", "insert"),
            ("queue_publish", {"topic": "reports.ready", "message_type": "event"})]


def _etl_long(r: random.Random) -> list[Step]:
    return [("queue_consume", {"topic": "orders.created", "max_messages": 50}),
            ("s3_download", {"bucket": "acme-exports", "key": "orders/2025-11-09.csv"}),
            ("code_execute", {"language": "sql", "timeout_seconds": 60}), _db(r, "orders", "insert"), _db(r, "events", "insert"),
            ("s3_upload", {"bucket": "acme-backups", "key": "postgres/2025-11-09.dump"}),
            ("queue_publish", {"topic": "reports.ready", "message_type": "event"})]


def _billing_reminder(r: random.Random) -> list[Step]:
    cust = c(r, sorted(CUSTOMERS))
    return [("crm_lookup", {"customer_id": cust}), _db(r, "invoices", "select"),
            _email(r, CUSTOMERS[cust], "Invoice overdue reminder")]


def _billing_long(r: random.Random) -> list[Step]:
    cust = c(r, sorted(CUSTOMERS))
    return [("s3_download", {"bucket": "acme-reports", "key": "monthly/2025-10/revenue.xlsx"}),
            ("pdf_extract", {"path": "/data/invoices/INV-20931.pdf", "pages": "1"}), ("crm_lookup", {"customer_id": cust}),
            _db(r, "invoices", "update"), _email(r, CUSTOMERS[cust], "Invoice overdue reminder"),
            _slack(r, "#analytics", ["Overdue invoices processed"])]


def _meeting(r: random.Random) -> Step:
    return "calendar_create", {"title": c(r, MEETINGS), "date": c(r, DATES), "duration_minutes": c(r, [15, 30, 45, 60])}


def _sched_long(r: random.Random) -> list[Step]:
    return [("cache_get", {"key": "calendar:free_slots"}), _meeting(r),
            ("cache_set", {"key": "calendar:free_slots", "ttl_seconds": 300}),
            _email(r, c(r, TEAM_ADDRESSES), "Meeting invitation"), _slack(r, "#analytics", ["Sync scheduled, invite sent"]),
            ("log_write", {"level": "info", "message": "report generated"})]


def _notify(r: random.Random) -> list[Step]:
    topic = c(r, ["tickets.escalated", "alerts.ops"])
    channel = "#support" if topic == "tickets.escalated" else "#ops-alerts"
    texts = ["New escalation needs an owner", "Alert: queue lag above 60s"]
    return [("queue_consume", {"topic": topic, "max_messages": c(r, [1, 10])}), _slack(r, channel, texts)]


def _notify_long(r: random.Random) -> list[Step]:
    return [("queue_consume", {"topic": "tickets.escalated", "max_messages": 10}), ("crm_lookup", {"customer_id": c(r, sorted(CUSTOMERS))}),
            ("ticket_update", {"ticket_id": c(r, TICKET_IDS), "status": "escalated"}), _slack(r, "#support", ["New escalation needs an owner"]),
            _email(r, "support-leads@acme-corp.com", "Your support ticket"), _metric(r)]


# agent -> (weight, {bucket: [(weight, workflow)]}); bucket 1 = one call, 2 = 2-3, 4 = 4-5, 6 = 6+
W = Workflow
AGENTS: dict[str, tuple[float, dict[int, list[tuple[float, W]]]]] = {
    "AnalyticsAgent": (1.6, {
        1: [(3, lambda r: [_db(r)]), (1, lambda r: [("cache_get", {"key": CACHE_KEYS[c(r, TABLES)]})]), (1, lambda r: [_metric(r)])],
        2: [(3, _cache_aside), (2, lambda r: [_db(r, op="aggregate"), _metric(r)])],
        4: [(1, _report_to_s3)],
        6: [(1, _analytics_long)],
    }),
    "SupportAgent": (1.5, {
        1: [(2, lambda r: [("vector_search", {"index": c(r, INDEXES), "query": c(r, QUERIES[:2]), "top_k": c(r, [3, 5, 10])})]),
            (1, lambda r: [("crm_lookup", {"customer_id": c(r, sorted(CUSTOMERS))})])],
        2: [(2, lambda r: [("vector_search", {"index": "docs-kb", "query": c(r, QUERIES[:2]), "top_k": 5}), _llm(r, "claude-haiku-4-5")]),
            (1, lambda r: [("ticket_update", {"ticket_id": c(r, TICKET_IDS), "status": c(r, ["pending", "resolved"])}),
                           _slack(r, "#support", ["Ticket resolved", "Waiting on customer reply"])])],
        4: [(1, _support_reply)],
        6: [(1, _support_long)],
    }),
    "ResearchAgent": (1.0, {
        1: [(2, lambda r: [("search_web", {"query": c(r, QUERIES), "max_results": c(r, [5, 10, 20])})])],
        2: [(2, lambda r: [("search_web", {"query": c(r, QUERIES), "max_results": c(r, [5, 10])}),
                           ("http_get", {"url": c(r, RESEARCH_URLS), "timeout_seconds": c(r, [10, 30])})]),
            (1, lambda r: [("pdf_extract", {"path": c(r, PDFS), "pages": c(r, ["1", "1-5", "all"])}), _llm(r),
                           _file_write(r, "/tmp/report.md")])],
        4: [(1, _research_brief)],
        6: [(1, _research_long)],
    }),
    "OpsAgent": (1.3, {
        1: [(2, lambda r: [_metric(r)]), (2, lambda r: [("http_get", {"url": c(r, HEALTH_URLS), "timeout_seconds": 5})]),
            (1, lambda r: [_log(r)])],
        2: [(2, lambda r: [("http_get", {"url": c(r, HEALTH_URLS), "timeout_seconds": 5}), _metric(r)]),
            (1, lambda r: [("file_read", {"path": "/var/log/app/error.log"}), _llm(r, "claude-haiku-4-5"),
                           _slack(r, "#ops-alerts", ["Error spike summarised in thread"])])],
        4: [(1, _ops_incident)],
        6: [(1, _ops_long)],
    }),
    "BillingAgent": (0.8, {
        1: [(2, lambda r: [_db(r, "invoices")]), (1, lambda r: [("crm_lookup", {"customer_id": c(r, sorted(CUSTOMERS))})])],
        2: [(2, _billing_reminder), (1, lambda r: [("s3_download", {"bucket": "acme-reports", "key": "monthly/2025-10/revenue.xlsx"}),
                                                   ("pdf_extract", {"path": "/data/invoices/INV-20931.pdf", "pages": "1"})])],
        4: [(1, lambda r: [_db(r, "invoices", "select"), ("code_execute", {"language": "sql", "timeout_seconds": 30}),
                           _file_write(r, "/data/exports/orders.csv"),
                           ("s3_upload", {"bucket": "acme-exports", "key": "orders/2025-11-09.csv"})])],
        6: [(1, _billing_long)],
    }),
    "SchedulerAgent": (0.7, {
        1: [(3, lambda r: [_meeting(r)])],
        2: [(2, lambda r: [_meeting(r), _email(r, c(r, TEAM_ADDRESSES), "Meeting invitation")]),
            (1, lambda r: [("cache_get", {"key": "calendar:free_slots"}), _meeting(r)])],
        4: [(1, lambda r: [("cache_get", {"key": "calendar:free_slots"}), _meeting(r),
                           ("cache_set", {"key": "calendar:free_slots", "ttl_seconds": 300}),
                           _slack(r, "#analytics", ["Sync scheduled, invite sent"])])],
        6: [(1, _sched_long)],
    }),
    "DataPipelineAgent": (1.0, {
        1: [(2, lambda r: [("queue_publish", {"topic": c(r, TOPICS), "message_type": c(r, ["event", "command"])})]),
            (1, lambda r: [("s3_download", {"bucket": (b := c(r, BUCKETS)), "key": _upload_key(r, b)})]),
            (1, lambda r: [("cache_get", {"key": c(r, OTHER_CACHE_KEYS)})])],
        2: [(2, lambda r: [("s3_download", {"bucket": (b := c(r, BUCKETS)), "key": _upload_key(r, b)}), _file_write(r)]),
            (1, lambda r: [_db(r, c(r, ["orders", "events"]), "select"),
                           ("s3_upload", {"bucket": "acme-exports", "key": "orders/2025-11-09.csv"}),
                           ("queue_publish", {"topic": "reports.ready", "message_type": "event"})])],
        4: [(1, _etl)],
        6: [(1, _etl_long)],
    }),
    "NotificationAgent": (0.9, {
        1: [(2, lambda r: [_slack(r, c(r, CHANNELS), ["Deploy finished", "Nightly export finished"])]),
            (1, lambda r: [_email(r, c(r, TEAM_ADDRESSES), c(r, SUBJECTS))]), (1, lambda r: [_log(r)])],
        2: [(2, _notify), (1, lambda r: [("queue_consume", {"topic": "reports.ready", "max_messages": 10}),
                                         _email(r, c(r, TEAM_ADDRESSES), "Weekly report")])],
        4: [(1, lambda r: [("queue_consume", {"topic": "alerts.ops", "max_messages": 10}), _log(r),
                           _slack(r, "#ops-alerts", ["Alert: queue lag above 60s"]),
                           _email(r, "ops-oncall@acme-corp.com", "Incident summary")])],
        6: [(1, _notify_long)],
    }),
}
BUCKET_WEIGHTS = {1: 30, 2: 40, 4: 22, 6: 8}


def _pick(r: random.Random, weighted: list[tuple[float, Any]]) -> Any:
    return r.choices([item for _, item in weighted], [w for w, _ in weighted])[0]


# ---------------------------------------------------------------- simulation

def _latency(r: random.Random, tool: Tool, params: dict[str, Any]) -> float:
    median = tool.median_ms
    if "max_tokens" in params:
        median *= math.sqrt(params["max_tokens"] / 1024)
    return median * math.exp(tool.sigma * r.gauss(0, 1))


def _call(r: random.Random, name: str, params: dict[str, Any]) -> dict[str, Any]:
    """One call of a tool: status, result, error, latency."""
    tool = TOOLS[name]
    if r.random() >= tool.fail_rate:
        return {"status": "success", "result": tool.result(params, r), "error": None,
                "latency_ms": _latency(r, tool, params), "transient": False}
    err = _pick(r, [(e.weight, e) for e in tool.errors])
    message = err.message(params, r) if callable(err.message) else err.message
    if err.status == "timeout":
        latency = 1000 * float(params.get("timeout_seconds", tool.timeout_s)) + r.uniform(0.5, 40)
    else:  # errors come back at about the speed of an answer, or faster
        latency = _latency(r, tool, params) * r.uniform(0.2, 1.0)
    return {"status": err.status, "result": None, "error": message, "latency_ms": latency, "transient": err.transient}


def _session(r: random.Random, agent: str, steps: list[Step], start: datetime, session_id: str | None) -> list[dict[str, Any]]:
    """Runs a planned workflow: each call after the last, with think time between; on a failure
    the agent retries (once), stops, or goes on without the answer."""
    out: list[dict[str, Any]] = []
    now = start
    for name, params in steps:
        attempts = 0
        while True:
            call = _call(r, name, params)
            out.append({"tool_name": name, "agent_name": agent, "session_id": session_id, "parameters": dict(params),
                        "result": call["result"], "status": call["status"], "error": call["error"],
                        "latency_ms": call["latency_ms"], "timestamp": now})
            now += timedelta(milliseconds=call["latency_ms"])
            if name == "slack_post" and call["result"]:
                call["result"]["ts"] = f"{now.timestamp():.6f}"
            if call["status"] == "success":
                now += timedelta(milliseconds=r.lognormvariate(math.log(1500), 0.8))  # the model thinks
                break
            attempts += 1
            p_retry, p_stop = (0.6, 0.25) if call["transient"] else (0.15, 0.55)
            roll = r.random()
            if attempts < 2 and roll < p_retry:
                now += timedelta(milliseconds=r.uniform(500, 4000))  # backoff
                continue
            if roll < p_retry + p_stop:
                return out
            now += timedelta(milliseconds=r.lognormvariate(math.log(1500), 0.8))
            break
    return out


def _session_start(r: random.Random) -> datetime:
    day = r.randrange(DAYS)
    weekend = day >= 5
    hour = r.choices(range(24), [1] * 7 + [4, 8, 10, 10, 9, 7, 9, 10, 9, 8, 6, 4, 3, 2, 1, 1, 1])[0]
    if weekend and r.random() < 0.6:
        hour = r.randrange(24)
    return START + timedelta(days=day, hours=hour, seconds=r.uniform(0, 3600))


def _plant_secrets(r: random.Random, rows: list[dict[str, Any]]) -> None:
    """What slips into real logs: API keys in request headers, a password in a login call."""
    gets = [row for row in rows if row["tool_name"] == "http_get"]
    chosen = r.sample(gets, min(4, len(gets)))
    ops = [row for row in gets if row["agent_name"] == "OpsAgent" and row not in chosen[:3]]
    if len(chosen) == 4 and ops:  # the login call is a health probe of the ops agent's
        chosen[3] = r.choice(ops)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

    def key() -> str:
        body = "".join(r.choice(alphabet) for _ in range(86))
        return f"sk-ant-api03-{body[:43]}-{body[43:]}-{''.join(r.choice(alphabet) for _ in range(6))}AA"

    for i, row in enumerate(chosen[:3]):
        headers = {"Authorization": f"Bearer {key()}"} if i < 2 else {"x-api-key": key(), "anthropic-version": "2023-06-01"}
        row["parameters"]["headers"] = headers
    if len(chosen) == 4:
        row = chosen[3]
        row["parameters"] = {"url": "https://internal.acme-corp.com/api/v1/login", "timeout_seconds": row["parameters"]["timeout_seconds"],
                             "username": "svc-reporting", "password": "Winter2025!prod"}


def generate(count: int, seed: int = 42, session_ids: bool = True) -> list[dict[str, Any]]:
    """``count`` invocations as the JSON objects of the log, in time order."""
    r = random.Random(seed)
    agents = list(AGENTS)
    agent_weights = [AGENTS[a][0] for a in agents]
    sessions: list[list[dict[str, Any]]] = []
    total = 0
    while total < count:
        agent = r.choices(agents, agent_weights)[0]
        bucket = r.choices(list(BUCKET_WEIGHTS), list(BUCKET_WEIGHTS.values()))[0]
        steps = _pick(r, AGENTS[agent][1][bucket])(r)
        sid = str(uuid.UUID(int=r.getrandbits(128), version=4)) if session_ids else None
        calls = _session(r, agent, steps, _session_start(r), sid)
        calls = calls[: count - total]
        sessions.append(calls)
        total += len(calls)
    rows = [(call["timestamp"], n, call) for n, calls in enumerate(sessions) for call in calls]
    rows.sort(key=lambda t: (t[0], t[1]))
    out = []
    for i, (_, _, call) in enumerate(rows, 1):
        call["timestamp"] = call["timestamp"].isoformat(timespec="microseconds")
        call["latency_ms"] = round(call["latency_ms"], 2)
        out.append({"invocation_id": f"inv-{i:06d}", **call})
    _plant_secrets(r, out)
    return out


def _line(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(_line(row) + "\n" for row in rows)


def write_broken(path: Path, count: int = 20, seed: int = 42, session_ids: bool = True) -> list[dict[str, Any]]:
    """``count`` valid lines and three bad ones, in a file of ``count + 3`` lines: line 8 is not
    JSON, line 16 is an invocation without ``tool_name``, the last line is torn (no newline).
    Returns the ``count + 2`` generated invocations (the last two are the bad lines' sources)."""
    if count < 15:
        raise ValueError("write_broken needs count >= 15")
    rows = generate(count + 2, seed, session_ids)
    missing = dict(rows[14])
    del missing["tool_name"]
    torn = _line(rows[count + 1])
    lines = [_line(row) + "\n" for row in rows[:7]]
    lines.append("WARNING 2025-11-15 16:57:23,101 baseline.tracker: flush interrupted, retrying\n")
    lines += [_line(row) + "\n" for row in rows[7:14]]
    lines.append(_line(missing) + "\n")
    lines += [_line(row) + "\n" for row in rows[15 : count + 1]]
    lines.append(torn[: len(torn) * 3 // 5])
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(lines)
    return rows


def summary(rows: list[dict[str, Any]]) -> str:
    """Tools, agents, session lengths and failure rates of a generated log, for a human."""
    by_tool: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        by_tool[row["tool_name"]][row["status"]] += 1
    sessions = Counter(row["session_id"] for row in rows if row["session_id"])
    lengths = Counter(min(n, 6) for n in sessions.values())
    out = [f"{len(rows)} invocations, {len(by_tool)} tools, {len({row['agent_name'] for row in rows})} agents, {len(sessions)} sessions"]
    out.append("agents: " + ", ".join(f"{a} {n}" for a, n in Counter(row["agent_name"] for row in rows).most_common()))
    if sessions:
        out.append("session length: " + ", ".join(
            f"{'6+' if k == 6 else k}: {lengths[k]} ({100 * lengths[k] / len(sessions):.0f}%)" for k in sorted(lengths)))
    statuses = Counter(row["status"] for row in rows)
    out.append(f"overall: success {statuses['success'] / len(rows):.1%}, failure {statuses['failure']}, timeout {statuses['timeout']}")
    out.append(f"{'tool':<16}{'calls':>6}{'fail%':>7}{'timeouts':>9}{'p50 ms':>10}")
    for name, counts in sorted(by_tool.items(), key=lambda kv: -sum(kv[1].values())):
        n = sum(counts.values())
        lat = sorted(row["latency_ms"] for row in rows if row["tool_name"] == name and row["status"] == "success")
        p50 = lat[len(lat) // 2] if lat else float("nan")
        out.append(f"{name:<16}{n:>6}{100 * (n - counts['success']) / n:>7.1f}{counts['timeout']:>9}{p50:>10.1f}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=4000, help="invocations to write (valid lines)")
    parser.add_argument("--out", type=Path, required=True, help="the JSONL file to write")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-session-ids", action="store_true", help="session_id null on every line")
    parser.add_argument("--broken", action="store_true", help="add a non-JSON line (8), a line without tool_name (16) "
                        "and a torn last line, for tests of error reporting; needs --count >= 15")
    parser.add_argument("--quiet", action="store_true", help="no summary")
    args = parser.parse_args(argv)
    if args.broken and args.count < 15:
        parser.error("--broken needs --count 15 or more")
    if args.broken:
        rows = write_broken(args.out, args.count, args.seed, not args.no_session_ids)
    else:
        rows = generate(args.count, args.seed, not args.no_session_ids)
        write(args.out, rows)
    if not args.quiet:
        print(summary(rows))
        print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
