"""Writes the shipped sample Phase-1 log: tool invocations of eight agents with their results, as BaselineTracker stores them.

    python examples/generate_sample_logs.py --count 4000 --out examples/logs/invocations.jsonl
    python examples/generate_sample_logs.py --count 20 --out examples/logs/broken.jsonl --broken

One JSON object a line, with exactly these fields: ``invocation_id`` ("inv-000001", in file
order), ``tool_name``, ``agent_name``, ``session_id`` (a UUID, or null with
``--no-session-ids``), ``step_id`` (the assistant turn that made the call: calls made together
share it), ``parameters``, ``result`` (null unless the call succeeded), ``status`` ("success" |
"failure" | "timeout"), ``error`` (null on success), ``latency_ms`` (2 decimals) and
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
- Every successful call returns what its tool returns, built from its arguments and the session so
  far: a query's rows (no more than its limit), a page's title and text, a health check's body,
  the value a cache holds, a model's message with the text it wrote (to the customer the CRM
  lookup named), a file's content, a queue's messages, an upload's etag and size (the bytes the
  file_write before it wrote). Most are a few hundred characters, pages and batches a few KB, about
  1% over 4,000 characters (the default size budget of a result in an example).
- Some turns make several calls at once (a CRM lookup and a ticket search, two pages fetched, a
  log line, a Slack post and an e-mail): they share a ``step_id``, start a millisecond or two apart
  and the next turn waits for the slowest.
- Each tool fails at its own rate (1% for cache_set up to 13% for http_get and anthropic_api) with
  the errors such tools really give; timeouts have status "timeout" and last as long as the
  timeout. Agents also get arguments wrong (4% of the calls that have a likely mistake: a typo in a
  path or a channel, a table's name in the singular, a file not exported yet, a customer id
  without its prefix) and get the error that mistake gets. After a failure an agent recovers: it
  makes the corrected call (the right argument, a longer timeout, another model, date or page),
  which works, or retries the same call (a transient error may be gone, a permanent one comes
  back), or gives up, or goes on without the answer.
- Latencies are log-normal per tool (cache ~2 ms, database ~40 ms, LLM ~900 ms and more with
  more max_tokens).
- A few secrets and personal data, as real logs have them: e-mail addresses in send_email ``to``
  (a handful personal ones) and in results (CRM contacts, users rows), three http_get calls with an
  API key in ``headers``, one login call with a ``password`` and the token it got back. They are
  put into short sessions that succeeded, which the quickstart keeps. Nothing marks them;
  redaction has to find them.

``--broken`` writes the file for tests of error reporting instead: ``--count`` valid lines (20
for the shipped file) with three bad ones among them: line 8 is not JSON (a stray text log line),
line 16 is a JSON object without ``tool_name``, and the last line is torn (truncated JSON, no
trailing newline), as after a crash.

Deterministic: standard library only, one ``random.Random(seed)``, a fixed clock; the same
arguments give the same bytes.
"""

from __future__ import annotations

import argparse
import base64
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


# ---------------------------------------------------------------- what the tools answer
#
# Every successful call returns the payload its tool really returns, built from the call's
# arguments and the session so far (``ctx``): the rows of a query (no more than its limit), the
# fields of a fetched page, the value a cache holds, a message's id, the text a model wrote. Most
# results are a few hundred bytes; pages, query rows, queue batches and log tails run to a few KB,
# and a few are longer than 4,000 characters (the default size budget of a result in an example).

FIRST_NAMES = ["Ana", "Ben", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Luca"]
LAST_NAMES = ["Meyer", "Okoro", "Lindqvist", "Tanaka", "Rossi", "Nguyen", "Haddad", "Silva", "Novak", "Brennan"]
USER_DOMAINS = ["globex.com", "initech.io", "umbrella-corp.de", "hooli.com", "stark-ind.com"]
COMPANIES = {  # customer id -> (company, contact, plan, monthly revenue in EUR)
    "CUST-1042": ("Globex Corporation", "Julia Alvarez", "enterprise", 18_400),
    "CUST-2213": ("Initech", "Priya Natarajan", "pro", 2_350),
    "CUST-3307": ("Umbrella Corp GmbH", "Markus Schneider", "enterprise", 9_900),
    "CUST-4519": ("Hooli", "Tom Okafor", "starter", 490),
}
PRODUCTS = ["Team Plan (annual)", "API add-on 1M calls", "SSO connector", "Priority support", "Data export pack",
            "Audit log retention 1y", "Extra seat", "Sandbox workspace"]
TICKET_SUBJECTS = ["Webhook deliveries delayed", "SSO login loop after IdP change", "CSV export missing columns",
                   "Invoice shows wrong VAT rate", "API returns 502 under load", "Cannot invite new team members"]
ERROR_LINES = [
    "ERROR [worker-{w}] app.jobs.export: psycopg.OperationalError: connection pool exhausted (size=20, waiting=37)",
    "ERROR [worker-{w}] app.http: upstream https://api.acme-corp.com/v2/orders returned 502 after 10.0s",
    "WARNING [worker-{w}] app.queue: consumer lag 74s on orders.created (partition 3)",
    "ERROR [worker-{w}] app.jobs.report: TimeoutError: report query exceeded 30s",
    "ERROR [worker-{w}] app.cache: redis.exceptions.ConnectionError: Error 111 connecting to 127.0.0.1:6379",
    "INFO [worker-{w}] app.jobs.export: retrying batch 17/40 (attempt 2)",
]
PAGES = {  # url -> (title, extracted text)
    "https://docs.python.org/3/library/asyncio.html": ("asyncio — Asynchronous I/O — Python 3.13 documentation", (
        "asyncio is a library to write concurrent code using the async/await syntax. asyncio is used as a foundation "
        "for multiple Python asynchronous frameworks that provide high-performance network and web-servers, database "
        "connection libraries, distributed task queues, etc. asyncio is often a perfect fit for IO-bound and "
        "high-level structured network code. asyncio provides a set of high-level APIs to: run Python coroutines "
        "concurrently and have full control over their execution; perform network IO and IPC; control subprocesses; "
        "distribute tasks via queues; synchronize concurrent code. Additionally, there are low-level APIs for library "
        "and framework developers to: create and manage event loops, which provide asynchronous APIs for networking, "
        "running subprocesses, handling OS signals, etc.; implement efficient protocols using transports; bridge "
        "callback-based libraries and code with async/await syntax.")),
    "https://en.wikipedia.org/wiki/Retrieval-augmented_generation": ("Retrieval-augmented generation - Wikipedia", (
        "Retrieval-augmented generation (RAG) is a technique that enables large language models (LLMs) to retrieve and "
        "incorporate new information from external data sources. With RAG, LLMs first refer to a specified set of "
        "documents, then respond to user queries. These documents supplement information from the LLM's pre-existing "
        "training data. This allows LLMs to use domain-specific and/or updated information that is not available in "
        "the training data. RAG improves LLMs by incorporating information retrieval before generating responses. "
        "Unlike LLMs that rely on static training data, RAG pulls relevant text from databases, uploaded documents, or "
        "web sources. According to Ars Technica, RAG is a way of improving LLM performance, in essence by blending the "
        "LLM process with a web search or other document look-up process to help LLMs stick to the facts. This method "
        "helps reduce AI hallucinations, which have caused chatbots to describe policies that don't exist, or "
        "recommend nonexistent legal cases to lawyers that are looking for citations to support their arguments.")),
    "https://arxiv.org/abs/2310.06825": ("[2310.06825] Mistral 7B", (
        "We introduce Mistral 7B, a 7-billion-parameter language model engineered for superior performance and "
        "efficiency. Mistral 7B outperforms the best open 13B model (Llama 2) across all evaluated benchmarks, and "
        "the best released 34B model (Llama 1) in reasoning, mathematics, and code generation. Our model leverages "
        "grouped-query attention (GQA) for faster inference, coupled with sliding window attention (SWA) to "
        "effectively handle sequences of arbitrary length with a reduced inference cost. Subjects: Computation and "
        "Language (cs.CL). Submitted on 10 Oct 2023.")),
    "https://www.globex.com/pricing": ("Pricing | Globex", (
        "Starter: EUR 49 per month, up to 5 seats, 100k API calls, community support. Pro: EUR 390 per month, up to "
        "50 seats, 2M API calls, SSO, audit log (90 days), business-hours support. Enterprise: custom pricing, "
        "unlimited seats, dedicated region, SCIM, audit log retention up to 7 years, 24/7 support with a 1-hour "
        "response SLA. All plans billed annually save 15%. Volume discounts from 200 seats. Prices exclude VAT.")),
}
SEARCH_HITS = {  # query -> hand-picked first results (title, url, snippet); more come from _generic_hits
    "kubernetes pod crashloopbackoff oom": [
        ("Debug Running Pods | Kubernetes", "https://kubernetes.io/docs/tasks/debug/debug-application/debug-running-pod/",
         "If a container was OOMKilled, kubectl describe pod shows Last State: Terminated, Reason: OOMKilled, Exit Code: 137."),
        ("Assign Memory Resources to Containers and Pods", "https://kubernetes.io/docs/tasks/configure-pod-container/assign-memory-resource/",
         "If a Container allocates more memory than its limit, the Container becomes a candidate for termination."),
    ],
    "postgres connection pool exhausted": [
        ("PgBouncer config", "https://www.pgbouncer.org/config.html",
         "default_pool_size: how many server connections to allow per user/database pair. Default: 20."),
        ("Connection pool exhausted under load - psycopg discussions", "https://github.com/psycopg/psycopg/discussions/582",
         "The pool waits up to `timeout` seconds for a connection before raising PoolTimeout; check for leaked connections."),
    ],
    "competitor pricing enterprise plan 2025": [
        ("Pricing | Globex", "https://www.globex.com/pricing", "Enterprise: custom pricing, unlimited seats, dedicated region, SCIM."),
        ("Initech plans and pricing", "https://initech.io/pricing", "Business EUR 29/user/month, Enterprise from EUR 45/user/month."),
    ],
    "EU AI Act obligations summary": [
        ("High-level summary of the AI Act", "https://artificialintelligenceact.eu/high-level-summary/",
         "The AI Act classifies AI according to its risk: unacceptable risk is prohibited, high-risk AI systems are regulated."),
        ("AI Act | Shaping Europe's digital future", "https://digital-strategy.ec.europa.eu/en/policies/regulatory-framework-ai",
         "Obligations for general-purpose AI models apply from 2 August 2025."),
    ],
    "vector database benchmark 2025": [
        ("ANN Benchmarks", "https://ann-benchmarks.com/", "Benchmarking nearest neighbour search: recall against queries per second."),
        ("VectorDBBench", "https://github.com/zilliztech/VectorDBBench", "A benchmark tool for vector databases: QPS, recall, p99 latency."),
    ],
}
CHUNKS = {  # vector index -> chunks (id, text)
    "docs-kb": [
        ("runbook-db#2", "If the pool is exhausted, check pg_stat_activity for idle-in-transaction sessions older than 5 minutes."),
        ("runbook-db#5", "Raise pool_size only after ruling out leaks; the primary allows 400 connections in all."),
        ("runbook-k8s#1", "OOMKilled workers: compare the container limit with the p99 RSS of the last 24 hours in Grafana."),
        ("faq-sso#3", "After an IdP certificate rotation, upload the new certificate under Settings > SSO within 24 hours."),
        ("faq-export#1", "CSV exports include only the columns visible in the current view; use the API for all fields."),
        ("billing-vat#2", "VAT is charged at the rate of the customer's billing country; reverse charge applies to EU B2B."),
    ],
    "support-tickets": [
        ("TCK-7710", "Customer saw 502s at peak; resolved by raising the gateway timeout to 30s."),
        ("TCK-7982", "SSO loop after Okta change: stale certificate; customer uploaded the new one, resolved."),
        ("TCK-8105", "Export missing columns: explained view-based export, sent API example."),
        ("TCK-8240", "Webhook delays caused by consumer lag on orders.created; scaled consumers from 4 to 8."),
        ("TCK-8377", "Wrong VAT on invoice: billing country was outdated in CRM; credit note issued."),
    ],
    "product-catalog": [
        ("sku-TEAM-ANN", "Team Plan (annual): 10 seats included, EUR 3,900 per year."),
        ("sku-API-1M", "API add-on: 1M calls per month, EUR 120 per month, overage EUR 0.15 per 1k calls."),
        ("sku-SSO", "SSO connector: SAML 2.0 and OIDC, EUR 200 per month."),
        ("sku-PRIO", "Priority support: 1-hour response for severity 1, EUR 450 per month."),
    ],
}
LLM_TEXTS = {  # agent -> paragraphs a model wrote for it; an answer is a few of them
    "SupportAgent": [
        "Hi {contact},\n\nthanks for your patience while we looked into this.",
        ("The 502 responses you saw came from our gateway timing out while the orders service was saturated; we have "
         "raised the timeout and added capacity, and error rates are back to normal since 14:20 UTC."),
        ("Your SSO loop is caused by the identity provider's rotated signing certificate. Please upload the new "
         "certificate under Settings > SSO; logins work again within a minute of the upload."),
        ("CSV exports contain the columns of the current view. To export every field, add the columns to the view or "
         "use GET /v2/exports with fields=all."),
        "I have linked this conversation to ticket {ticket} so the whole team can see its history.",
        "Best regards,\nAcme Support",
    ],
    "ResearchAgent": [
        "Summary: the sources agree on the main point and differ on details; three findings matter for us.",
        "1. Retrieval quality dominates answer quality: recall@10 below 0.8 shows up directly as wrong answers.",
        "2. Latency budgets: the p99 of the vector store is 35-60 ms at our index size, well inside the 300 ms budget.",
        "3. Costs scale with the number of retrieved chunks passed to the model, not with the index size.",
        "Recommendation: keep the current index, cap retrieved context at 8 chunks, and re-run the evaluation monthly.",
        "Open question: the benchmarks use synthetic queries; we should validate on last quarter's support tickets.",
    ],
    "OpsAgent": [
        "Error spike between 02:10 and 02:40 UTC: 1,284 errors, 71% of them connection pool exhaustion in the export workers.",
        "Root cause is likely the nightly export opening one connection per batch without returning it on retry.",
        "Secondary: 502s from the orders API during the same window, which follow from the pool exhaustion.",
        "Suggested action: restart the export workers now, and cap the export's concurrency at 8 until the fix ships.",
    ],
    "ResearchAgentPdf": [
        "The document is a master services agreement between Acme Corp and Globex Corporation, effective 1 January 2025.",
        "Term: 36 months, renewing for 12 months unless either party gives 90 days' notice.",
        "Liability is capped at the fees paid in the 12 months before the claim, excluding data protection breaches.",
        "Service levels: 99.9% monthly availability, with service credits of 5-25% of the monthly fee.",
    ],
}


def _hex(r: random.Random, n: int) -> str:
    return f"{r.getrandbits(4 * n):0{n}x}"


def _timeout_after(default: int) -> Callable[[dict[str, Any], random.Random], str]:
    return lambda p, r: f"timeout after {p.get('timeout_seconds', default)}s"


def _stamp(ctx: dict[str, Any], minutes_ago: float = 0.0) -> str:
    moment: datetime = ctx["now"] - timedelta(minutes=minutes_ago)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _person(r: random.Random) -> tuple[str, str]:
    first, last = c(r, FIRST_NAMES), c(r, LAST_NAMES)
    return f"{first} {last}", f"{first.lower()}.{last.lower()}@{c(r, USER_DOMAINS)}"


def _row(table: str, r: random.Random, ctx: dict[str, Any]) -> dict[str, Any]:
    cust = c(r, sorted(COMPANIES))
    if table == "users":
        name, email = _person(r)
        return {"id": r.randint(10_000, 99_999), "name": name, "email": email,
                "plan": COMPANIES[cust][2], "last_seen": _stamp(ctx, r.uniform(1, 9000))}
    if table == "orders":
        return {"order_id": f"ORD-{r.randint(500_000, 599_999)}", "customer_id": cust,
                "status": r.choices(["paid", "shipped", "pending", "refunded"], [6, 3, 2, 1])[0],
                "total_eur": round(r.lognormvariate(math.log(85), 0.9), 2), "created_at": _stamp(ctx, r.uniform(1, 1440))}
    if table == "products":
        return {"sku": f"SKU-{r.randint(1000, 9999)}", "name": c(r, PRODUCTS),
                "price_eur": c(r, [49.0, 120.0, 200.0, 390.0, 450.0, 3900.0]), "stock": r.randint(0, 500)}
    if table == "invoices":
        return {"invoice_id": f"INV-{r.randint(20_000, 21_999)}", "customer_id": cust,
                "amount_eur": round(COMPANIES[cust][3] * r.uniform(0.9, 1.2), 2),
                "due_date": c(r, ["2025-10-15", "2025-10-31", "2025-11-01", "2025-11-07"]),
                "status": r.choices(["overdue", "open", "paid"], [5, 3, 2])[0]}
    if table == "tickets":
        return {"ticket_id": f"TCK-{r.randint(8700, 8999)}", "customer_id": cust,
                "priority": r.choices(["low", "normal", "high", "urgent"], [2, 5, 3, 1])[0],
                "status": c(r, ["open", "pending", "escalated"]), "subject": c(r, TICKET_SUBJECTS)}
    return {"event_id": _hex(r, 12), "type": c(r, ["page_view", "signup", "checkout", "api_call", "export"]),
            "user_id": r.randint(10_000, 99_999), "ts": _stamp(ctx, r.uniform(0, 60))}


def _db_result(p: dict[str, Any], r: random.Random, ctx: dict[str, Any]) -> Any:
    op, table, limit = p["operation"], p["table"], p.get("limit", 100)
    if op == "select":
        n = min(limit, int(r.lognormvariate(math.log(5), 1.1)))
        rows = [_row(table, r, ctx) for _ in range(min(n, 60))]
        return {"row_count": n, "rows": rows} | ({"rows_omitted": n - len(rows)} if n > len(rows) else {})
    if op == "count":
        return {"count": r.randint(40, 250_000)}
    if op == "aggregate":
        by = r.choice(["day", "region", "plan"])
        keys = {"region": ["EU", "NA", "APAC", "LATAM"], "plan": ["starter", "pro", "enterprise"]}.get(by) or [
            (START - timedelta(days=d)).date().isoformat() for d in range(min(limit, r.choice([7, 14, 30])))]
        return {"group_by": by, "rows": [{by: k, "count": r.randint(20, 4000),
                                          "sum_eur": round(r.uniform(1_000, 250_000), 2)} for k in keys]}
    return {"command": op.upper(), "rows_affected": r.randint(1, 25)}


def _cache_value(key: str, r: random.Random, ctx: dict[str, Any]) -> Any:
    if key == "users:active":
        return {"count": r.randint(800, 5000), "sample_ids": [r.randint(10_000, 99_999) for _ in range(5)]}
    if key == "orders:daily":
        return {"date": ctx["now"].date().isoformat(), "orders": r.randint(900, 3200), "revenue_eur": round(r.uniform(6e4, 2.4e5), 2)}
    if key == "products:top":
        return [{"name": name, "units": r.randint(10, 400)} for name in r.sample(PRODUCTS, 5)]
    if key == "invoices:overdue":
        return [{"invoice_id": f"INV-{r.randint(20_000, 21_999)}", "customer_id": cust} for cust in r.sample(sorted(COMPANIES), 2)]
    if key == "tickets:open":
        return {"open": r.randint(20, 90), "by_priority": {"urgent": r.randint(0, 4), "high": r.randint(3, 15)}}
    if key == "events:hourly":
        return [r.randint(200, 4000) for _ in range(24)]
    if key == "feature_flags":
        return {"new_checkout": True, "bulk_export_v2": r.random() < 0.5, "sso_enforced": False, "ai_summaries": True}
    if key == "rate_limit:api":
        return {"limit": 1000, "remaining": r.randint(0, 1000), "reset_at": _stamp(ctx, -r.uniform(0, 1))}
    if key == "calendar:free_slots":
        return [f"{d}T{h:02d}:00:00Z" for d in DATES[:3] for h in sorted(r.sample(range(8, 17), 2))]
    return {"base": "EUR", "rates": {"USD": round(r.uniform(1.05, 1.1), 4), "GBP": round(r.uniform(0.85, 0.88), 4),
                                     "CHF": round(r.uniform(0.93, 0.96), 4), "JPY": round(r.uniform(160, 166), 2)}}


def _cache_get(p: dict[str, Any], r: random.Random, ctx: dict[str, Any]) -> Any:
    if ctx["opts"].get("miss") or r.random() < 0.3:
        return {"key": p["key"], "hit": False, "value": None}
    return {"key": p["key"], "hit": True, "value": _cache_value(p["key"], r, ctx), "ttl_remaining_s": r.randint(5, 3600)}


def _http_get(p: dict[str, Any], r: random.Random, ctx: dict[str, Any]) -> Any:
    url = p["url"]
    if url.endswith("status.json"):
        bad = ctx["opts"].get("degraded")
        parts = ["API", "Dashboard", "Webhooks", "Exports"]
        body = {"page": {"name": "Acme", "url": "https://status.acme-corp.com", "updated_at": _stamp(ctx, r.uniform(1, 90))},
                "status": {"indicator": "minor" if bad else "none",
                           "description": "Partial System Outage" if bad else "All Systems Operational"},
                "components": [{"name": n, "status": "degraded_performance" if bad and n in ("API", "Exports") else "operational"}
                               for n in parts]}
        return {"status_code": 200, "content_type": "application/json", "body": body}
    if url.endswith("healthz"):
        bad = ctx["opts"].get("degraded")
        checks = {"postgres": {"status": "warn" if bad else "pass", "latency_ms": round(r.uniform(900, 4000) if bad else r.uniform(1, 6), 1)},
                  "redis": {"status": "pass", "latency_ms": round(r.uniform(0.2, 1.5), 1)},
                  "kafka": {"status": "pass", "consumer_lag_s": r.randint(0, 12)}}
        return {"status_code": 200, "content_type": "application/health+json",
                "body": {"status": "warn" if bad else "pass", "version": "2025.11.3", "checks": checks}}
    title, text = PAGES.get(url, ("", ""))
    return {"status_code": 200, "content_type": "text/html; charset=utf-8", "title": title, "text": text,
            "content_length": len(text) * r.randint(6, 14)}


def _generic_hits(q: str, r: random.Random) -> tuple[str, str, str]:
    slug = q.lower().replace(" ", "-")
    site = r.randrange(4)
    if site == 0:
        return (f"{q} - Stack Overflow", f"https://stackoverflow.com/questions/{r.randint(60_000_000, 79_999_999)}/{slug}",
                f"I keep running into {q} in production. What I tried so far: raising limits, adding retries, ...")
    if site == 1:
        issue = r.randint(200, 9000)
        repo = c(r, ["kubernetes/kubernetes", "psycopg/psycopg", "qdrant/qdrant", "langchain-ai/langchain"])
        return (f"{q} · Issue #{issue} · {repo}", f"https://github.com/{repo}/issues/{issue}",
                f"Steps to reproduce: ... Expected behaviour: ... Seen with {q} since the last upgrade.")
    if site == 2:
        return (f"A practical guide to {q}", f"https://medium.com/@{c(r, ['devops-diary', 'datacraft', 'mlops-notes'])}/{slug}-{_hex(r, 12)}",
                f"In this post we walk through {q}, what causes it, and the three fixes that worked for us.")
    return (f"Ask HN: {q}?", f"https://news.ycombinator.com/item?id={r.randint(40_000_000, 45_999_999)}",
            f"{r.randint(12, 480)} points, {r.randint(3, 260)} comments")


def _search_web(p: dict[str, Any], r: random.Random, ctx: dict[str, Any]) -> Any:
    q = p["query"]
    hits = list(SEARCH_HITS.get(q, []))
    hits += [_generic_hits(q, r) for _ in range(p["max_results"] - len(hits))]
    return {"query": q, "results": [{"title": t, "url": u, "snippet": s} for t, u, s in hits[: p["max_results"]]]}


def _vector_search(p: dict[str, Any], r: random.Random, ctx: dict[str, Any]) -> Any:
    chunks = CHUNKS[p["index"]]
    picked = r.sample(chunks, min(p["top_k"], len(chunks)))
    score = r.uniform(0.82, 0.94)
    matches = []
    for cid, text in picked:
        matches.append({"id": cid, "score": round(score, 3), "text": text})
        score -= r.uniform(0.01, 0.08)
    return {"index": p["index"], "matches": matches}


def _file_read(p: dict[str, Any], r: random.Random, ctx: dict[str, Any]) -> Any:
    path = p["path"]
    if path.endswith(".log"):
        n = r.choice([8, 12, 20, 20, 30, 60])
        lines = [f"{_stamp(ctx, (n - i) * r.uniform(0.2, 2))} " + c(r, ERROR_LINES).format(w=r.randint(1, 8)) for i in range(n)]
        text = "\n".join(lines) + "\n"
    elif path.endswith(".yaml"):
        text = ("service: reporting\nenv: production\ndatabase:\n  host: db-primary.internal\n  pool_size: 20\n"
                "  statement_timeout_ms: 30000\nredis:\n  url: redis://127.0.0.1:6379/0\nexports:\n  concurrency: 16\n"
                "  bucket: acme-exports\nfeature_flags:\n  bulk_export_v2: false\n")
    elif path.endswith(".csv"):
        text = "region,month,orders,revenue_eur\n" + "".join(
            f"{reg},2025-{m:02d},{r.randint(800, 9000)},{r.uniform(5e4, 9e5):.2f}\n" for m in (7, 8, 9) for reg in ("EU", "NA", "APAC", "LATAM"))
    else:
        text = json.dumps([{"customer_id": k, "company": v[0], "plan": v[2]} for k, v in COMPANIES.items()], indent=2)
    return {"path": path, "size_bytes": len(text.encode()), "content": text}


def _llm_result(p: dict[str, Any], r: random.Random, ctx: dict[str, Any]) -> Any:
    agent = ctx["agent"] + ("Pdf" if ctx.get("pdf") else "")
    paragraphs = LLM_TEXTS.get(agent, LLM_TEXTS["ResearchAgent"])
    if agent == "SupportAgent":
        middle = r.sample(paragraphs[1:4], r.randint(1, 2))
        chosen = [paragraphs[0], *middle, *(paragraphs[4:] if r.random() < 0.5 else paragraphs[5:])]
    else:
        chosen = paragraphs[:1] + r.sample(paragraphs[1:], r.randint(2, len(paragraphs) - 1))
    cust = ctx.get("customer")
    text = "\n\n".join(chosen).format(contact=COMPANIES[cust][1].split()[0] if cust else "there", ticket=c(r, TICKET_IDS))
    cap, out = p["max_tokens"], len(text) // 4 + r.randint(0, 6)
    stop = "end_turn"
    if out > cap:
        text, out, stop = text[: cap * 4], cap, "max_tokens"
    return {"id": f"msg_01{_hex(r, 22)}", "type": "message", "role": "assistant", "model": p["model"],
            "content": [{"type": "text", "text": text}], "stop_reason": stop,
            "usage": {"input_tokens": r.randint(300, 6000), "output_tokens": out}}


def _code_execute(p: dict[str, Any], r: random.Random, ctx: dict[str, Any]) -> Any:
    lang = p["language"]
    if lang == "bash":
        out = "".join(f"restarted worker@{i}.service (pid {r.randint(2000, 65000)})\n" for i in range(1, 5))
        out += f"active workers: 4/4, queue depth {r.randint(0, 300)}\n"
    elif lang == "sql":
        out = f"BEGIN\nINSERT 0 {r.randint(100, 5000)}\nCOMMIT\n"
    else:
        out = (f"loaded {r.randint(200, 90_000):,} rows\n"
               f"orders: {r.randint(900, 3200):,}  revenue: EUR {r.uniform(6e4, 2.4e5):,.2f}  mean order: EUR {r.uniform(40, 140):.2f}\n"
               f"week over week: {r.uniform(-12, 18):+.1f}%\nwrote /data/reports/weekly_summary.csv\n")
    return {"exit_code": 0, "stdout": out, "stderr": ""}


PDF_SECTIONS = {
    "/data/contracts/globex_msa.pdf": [
        "MASTER SERVICES AGREEMENT between Acme Corp (\"Provider\") and Globex Corporation (\"Customer\"), effective 1 January 2025.",
        "1. Definitions. \"Services\" means the hosted software services described in each Order Form. \"Customer Data\" means data submitted by Customer to the Services.",
        "2. Term. This Agreement runs for 36 months from the Effective Date and renews for successive 12-month terms unless either party gives 90 days' written notice.",
        "3. Fees. Customer pays the fees in each Order Form within 30 days of invoice. Late amounts bear interest at 1% per month.",
        "4. Service Levels. Provider makes the Services available 99.9% of each month, excluding scheduled maintenance announced 48 hours in advance.",
        "5. Limitation of Liability. Each party's liability is capped at the fees paid in the 12 months before the claim, except for breaches of Section 7.",
        "6. Confidentiality. Each party protects the other's Confidential Information with at least reasonable care.",
        "7. Data Protection. Provider processes Customer Data under the Data Processing Addendum in Exhibit B.",
    ],
    "/data/invoices/INV-20931.pdf": [
        "INVOICE INV-20931  Issue date 2025-10-01  Due date 2025-10-31",
        "Bill to: Globex Corporation, Accounts Payable, 1 Globex Plaza, Springfield",
        "Team Plan (annual) x 4 ... EUR 15,600.00\nSSO connector x 12 months ... EUR 2,400.00\nPriority support x 1 ... EUR 450.00",
        "Subtotal EUR 18,450.00  VAT reverse charge  Total due EUR 18,450.00",
        "Payment: IBAN DE89 3704 0044 0532 0130 00, reference INV-20931.",
    ],
    "/data/papers/attention_is_all_you_need.pdf": [
        "Attention Is All You Need. Abstract: The dominant sequence transduction models are based on complex recurrent or convolutional neural networks. We propose a new simple network architecture, the Transformer, based solely on attention mechanisms.",
        "1 Introduction. Recurrent models typically factor computation along the symbol positions of the input and output sequences, which precludes parallelization within training examples.",
        "2 Background. The goal of reducing sequential computation also forms the foundation of the Extended Neural GPU, ByteNet and ConvS2S.",
        "3 Model Architecture. The encoder maps an input sequence of symbol representations to a sequence of continuous representations; the decoder then generates an output sequence one element at a time.",
        "3.2 Attention. An attention function can be described as mapping a query and a set of key-value pairs to an output, where the query, keys, values, and output are all vectors.",
        "3.2.2 Multi-Head Attention. Instead of performing a single attention function, we found it beneficial to linearly project the queries, keys and values h times with different learned projections.",
        "5 Training. We trained on the standard WMT 2014 English-German dataset consisting of about 4.5 million sentence pairs.",
        "6 Results. On the WMT 2014 English-to-German translation task, the big transformer model outperforms the best previously reported models by more than 2.0 BLEU.",
    ],
}


def _pdf_extract(p: dict[str, Any], r: random.Random, ctx: dict[str, Any]) -> Any:
    sections = PDF_SECTIONS[p["path"]]
    total = {"/data/invoices/INV-20931.pdf": 2, "/data/contracts/globex_msa.pdf": 14}.get(p["path"], 15)
    pages = {"1": 1, "1-5": min(5, total)}.get(p["pages"], total)
    take = max(2, len(sections) * pages // total)
    text = "\n\n".join(sections[:take])
    if p["pages"] == "all" and p["path"].endswith("attention_is_all_you_need.pdf"):  # the reference list
        titles = ["Neural machine translation", "Sequence to sequence learning", "Layer normalization",
                  "Convolutional sequence to sequence learning"]
        text += "\n\nReferences\n" + "\n".join(
            f"[{i}] {c(r, LAST_NAMES)} et al. {c(r, titles)}. {r.randint(2013, 2017)}." for i in range(1, 41))
    return {"path": p["path"], "pages_extracted": pages, "page_count": total, "text": text}


def _queue_consume(p: dict[str, Any], r: random.Random, ctx: dict[str, Any]) -> Any:
    topic, n = p["topic"], int(p["max_messages"] * r.random() ** 1.5 + 0.5)
    messages = []
    offset = r.randint(100_000, 9_000_000)
    for i in range(n):
        cust = c(r, sorted(COMPANIES))
        if topic == "orders.created":
            value: dict[str, Any] = {"order_id": f"ORD-{r.randint(500_000, 599_999)}", "customer_id": cust,
                                     "total_eur": round(r.lognormvariate(math.log(85), 0.9), 2), "items": r.randint(1, 6)}
        elif topic == "tickets.escalated":
            value = {"ticket_id": c(r, TICKET_IDS), "customer_id": cust, "priority": c(r, ["high", "urgent"]),
                     "reason": c(r, ["SLA breach in 2h", "customer asked for a manager", "repeated 502s"])}
        elif topic == "alerts.ops":
            value = {"alert": c(r, ["QueueLagHigh", "ErrorRateHigh", "DiskFillingUp"]), "severity": c(r, ["warning", "critical"]),
                     "value": round(r.uniform(60, 400), 1)}
        else:
            value = {"report": c(r, ["weekly_summary", "revenue_monthly"]), "path": "s3://acme-reports/weekly/2025-11-07/summary.pdf"}
        messages.append({"offset": offset + i, "partition": r.randint(0, 11), "value": value})
    return {"topic": topic, "messages": messages}


def _calendar_create(p: dict[str, Any], r: random.Random, ctx: dict[str, Any]) -> Any:
    start = datetime.fromisoformat(f"{p['date']}T{r.randint(8, 16):02d}:{c(r, ['00', '30'])}:00+00:00")
    end = start + timedelta(minutes=p["duration_minutes"])
    eid = _hex(r, 26)
    return {"id": eid, "status": "confirmed", "summary": p["title"],
            "start": start.isoformat().replace("+00:00", "Z"), "end": end.isoformat().replace("+00:00", "Z"),
            "htmlLink": f"https://www.google.com/calendar/event?eid={eid}"}


CHANNEL_IDS = {"#ops-alerts": "C04F1KQ2ZM3", "#support": "C02A7PL9XWE", "#analytics": "C03HH2N8VDK",
               "#incidents": "C05R6TT1GQA", "#research": "C06BZ3M4YJP"}


def _s3_path(p: dict[str, Any]) -> str:
    return f"s3://{p['bucket']}/{p['key']}"


def _s3_download(p: dict[str, Any], r: random.Random, ctx: dict[str, Any]) -> Any:
    kinds = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "pdf": "application/pdf",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "dump": "application/octet-stream",
             "npy": "application/octet-stream", "pkl": "application/octet-stream"}
    return {"bucket": p["bucket"], "key": p["key"], "size_bytes": r.randint(4_000, 25_000_000),
            "content_type": kinds[p["key"].rsplit(".", 1)[-1]], "etag": f'"{_hex(r, 32)}"',
            "last_modified": "2025-11-09T03:12:09Z", "saved_to": "/tmp/" + p["key"].rsplit("/", 1)[-1]}


def _crm(p: dict[str, Any], r: random.Random, ctx: dict[str, Any]) -> Any:
    company, contact, plan, mrr = COMPANIES[p["customer_id"]]
    return {"customer_id": p["customer_id"], "company": company,
            "contact": {"name": contact, "email": CUSTOMERS[p["customer_id"]]}, "plan": plan, "mrr_eur": mrr,
            "open_tickets": r.randint(0, 4), "account_owner": "Sofia Brandt", "health": c(r, ["green", "green", "amber"])}


@dataclass(frozen=True)
class Err:
    status: str  # "failure" or "timeout"
    message: str | Callable[[dict[str, Any], random.Random], str]
    transient: bool  # worth a retry
    weight: float = 1.0
    #: the agent's corrected call after this error (other arguments, or another tool), if it has one
    fix: Callable[[dict[str, Any], random.Random], Step] | None = None


@dataclass(frozen=True)
class Tool:
    fail_rate: float
    median_ms: float
    sigma: float
    errors: list[Err]
    result: Callable[[dict[str, Any], random.Random, dict[str, Any]], Any]
    timeout_s: float = 30.0  # how long a timeout lasts, unless the call names timeout_seconds


def _longer_timeout(name: str, to: int) -> Callable[[dict[str, Any], random.Random], Step]:
    return lambda p, r: (name, p | {"timeout_seconds": max(to, 2 * p.get("timeout_seconds", to // 2))})


TOOLS: dict[str, Tool] = {
    "database_query": Tool(0.03, 40, 0.7, [
        Err("timeout", "canceling statement due to statement timeout", True, 2,
            fix=lambda p, r: ("database_query", p | {"limit": 50}) if p.get("limit", 0) > 50 else ("database_query", p)),
        Err("failure", "could not connect to server: Connection refused", True, 1),
        Err("failure", "deadlock detected", True, 1),
        Err("failure", lambda p, r: f'permission denied for table {p["table"]}', False, 1),
    ], _db_result),
    "cache_get": Tool(0.01, 2, 0.5, [
        Err("failure", "redis: connection refused (127.0.0.1:6379)", True, 2),
        Err("timeout", "timeout after 1s", True, 1),
    ], _cache_get, timeout_s=1),
    "cache_set": Tool(0.01, 2.5, 0.5, [
        Err("failure", "OOM command not allowed when used memory > 'maxmemory'", False, 1),
        Err("failure", "redis: connection refused (127.0.0.1:6379)", True, 2),
    ], lambda p, r, ctx: {"result": "OK", "key": p["key"], "ttl_seconds": p["ttl_seconds"]}),
    "http_get": Tool(0.13, 250, 0.8, [
        Err("failure", "HTTP 503 Service Unavailable", True, 4),
        Err("failure", "HTTP 502 Bad Gateway", True, 2),
        Err("failure", "HTTP 404 Not Found", False, 1,
            fix=lambda p, r: ("http_get", p | {"url": c(r, [u for u in RESEARCH_URLS if u != p["url"]])})
            if p["url"] in RESEARCH_URLS else ("http_get", p | {"url": HEALTH_URLS[0]})),
        Err("failure", "HTTP 429 Too Many Requests", True, 1),
        Err("failure", "SSL: CERTIFICATE_VERIFY_FAILED", False, 0.5),
        Err("timeout", _timeout_after(10), True, 3, fix=_longer_timeout("http_get", 30)),
    ], _http_get),
    "send_email": Tool(0.03, 180, 0.5, [
        Err("failure", "SMTP 421 4.7.0 Try again later", True, 2),
        Err("failure", lambda p, r: f"SMTP 550 5.1.1 <{p['to']}>: Recipient address rejected", False, 1),
    ], lambda p, r, ctx: {"message_id": f"<{_hex(r, 16)}@mail.acme-corp.com>", "accepted": [p["to"]], "rejected": [],
                          "smtp_response": f"250 2.0.0 OK queued as {_hex(r, 10).upper()}"}),
    "file_read": Tool(0.04, 3, 0.9, [
        Err("failure", lambda p, r: f"FileNotFoundError: [Errno 2] No such file or directory: '{p['path']}'", False, 2),
        Err("failure", lambda p, r: f"PermissionError: [Errno 13] Permission denied: '{p['path']}'", False, 1),
    ], _file_read),
    "file_write": Tool(0.02, 6, 0.8, [
        Err("failure", "OSError: [Errno 28] No space left on device", False, 1,
            fix=lambda p, r: ("file_write", p | {"path": "/tmp/" + p["path"].rsplit("/", 1)[-1]})),
        Err("failure", lambda p, r: f"PermissionError: [Errno 13] Permission denied: '{p['path']}'", False, 1,
            fix=lambda p, r: ("file_write", p | {"path": "/tmp/" + p["path"].rsplit("/", 1)[-1]})),
    ], lambda p, r, ctx: {"path": p["path"], "bytes_written": p["bytes"]}),
    "search_web": Tool(0.05, 650, 0.5, [
        Err("failure", "rate_limit_error: 429 Too Many Requests", True, 3),
        Err("failure", "HTTP 503 Service Unavailable", True, 1),
        Err("timeout", "timeout after 10s", True, 1),
    ], _search_web, timeout_s=10),
    "vector_search": Tool(0.02, 35, 0.6, [
        Err("failure", lambda p, r: f"index '{p['index']}' is not ready (rebuilding)", True, 1,
            fix=lambda p, r: ("vector_search", p | {"index": "docs-kb" if p["index"] != "docs-kb" else "support-tickets"})),
        Err("timeout", "timeout after 5s", True, 1),
    ], _vector_search, timeout_s=5),
    "s3_upload": Tool(0.04, 120, 0.7, [
        Err("failure", lambda p, r: f"permission denied: {_s3_path(p)}", False, 2),
        Err("failure", "SlowDown: Please reduce your request rate. (503)", True, 1),
    ], lambda p, r, ctx: {"bucket": p["bucket"], "key": p["key"], "etag": f'"{_hex(r, 32)}"',
                          "version_id": _hex(r, 32), "size_bytes": ctx.get("written") or r.randint(4_000, 25_000_000)}),
    "s3_download": Tool(0.05, 90, 0.7, [
        Err("failure", lambda p, r: f"NoSuchKey: {_s3_path(p)}", False, 2),
        Err("failure", lambda p, r: f"permission denied: {_s3_path(p)}", False, 1),
        Err("timeout", "timeout after 30s", True, 1),
    ], _s3_download),
    "queue_publish": Tool(0.02, 8, 0.6, [
        Err("failure", "KafkaError: NOT_LEADER_FOR_PARTITION", True, 1),
        Err("timeout", "timeout after 5s", True, 1),
    ], lambda p, r, ctx: {"topic": p["topic"], "partition": r.randint(0, 11), "offset": r.randint(10_000, 9_999_999),
                          "message_id": _hex(r, 12)}, timeout_s=5),
    "queue_consume": Tool(0.03, 60, 0.9, [
        Err("failure", "KafkaError: REBALANCE_IN_PROGRESS", True, 2),
        Err("failure", "KafkaError: GROUP_AUTHORIZATION_FAILED", False, 1),
    ], _queue_consume),
    "metrics_push": Tool(0.01, 5, 0.5, [
        Err("failure", "HTTP 400 Bad Request: out of order sample", False, 1),
    ], lambda p, r, ctx: {"status": "success", "metric": p["metric"], "value": p["value"], "samples_accepted": 1}),
    "log_write": Tool(0.01, 1.5, 0.5, [
        Err("failure", "BrokenPipeError: [Errno 32] Broken pipe", True, 1),
    ], lambda p, r, ctx: {"ok": True, "index": f"app-logs-{ctx['now']:%Y.%m.%d}", "id": _hex(r, 20)}),
    "calendar_create": Tool(0.03, 220, 0.5, [
        Err("failure", "HTTP 409 Conflict: time slot unavailable", False, 2,
            fix=lambda p, r: ("calendar_create", p | {"date": DATES[(DATES.index(p["date"]) + 1) % len(DATES)]})),
        Err("failure", "invalid_grant: Token has been expired or revoked", False, 1),
    ], _calendar_create),
    "slack_post": Tool(0.04, 150, 0.5, [
        Err("failure", "rate_limited: retry after 30s", True, 2),
        Err("failure", "not_in_channel", False, 1),
        Err("failure", "channel_not_found", False, 0.5),
    ], lambda p, r, ctx: {"ok": True, "channel": CHANNEL_IDS[p["channel"]], "ts": None,  # filled in when the call is placed
                          "message": {"type": "message", "user": "U07BOTACME1", "text": p["text"], "ts": None}}),
    "anthropic_api": Tool(0.13, 900, 0.6, [
        Err("failure", "rate_limit_error: 429", True, 4),
        Err("failure", "overloaded_error: 529 Overloaded", True, 3,
            fix=lambda p, r: ("anthropic_api", p | {"model": "claude-haiku-4-5"}) if p["model"] != "claude-haiku-4-5"
            else ("anthropic_api", p)),
        Err("failure", "api_error: 500 Internal server error", True, 1),
        Err("failure", "invalid_request_error: prompt is too long: 212345 tokens > 200000 maximum", False, 0.5),
        Err("timeout", "timeout after 60s", True, 1.5),
    ], _llm_result, timeout_s=60),
    "code_execute": Tool(0.08, 1200, 0.8, [
        Err("failure", "SyntaxError: invalid syntax (line 3)", False, 2),
        Err("failure", "NameError: name 'df' is not defined", False, 2),
        Err("failure", "MemoryError: container memory limit (2 GiB) exceeded", False, 1),
        Err("timeout", _timeout_after(30), True, 2, fix=_longer_timeout("code_execute", 120)),
    ], _code_execute),
    "pdf_extract": Tool(0.06, 400, 0.7, [
        Err("failure", "PDFSyntaxError: EOF marker not found", False, 2),
        Err("failure", "encrypted PDF: password required", False, 1),
    ], _pdf_extract),
    "crm_lookup": Tool(0.02, 70, 0.5, [
        Err("failure", lambda p, r: f"HTTP 404 Not Found: customer {p['customer_id']}", False, 1),
        Err("failure", "HTTP 503 Service Unavailable", True, 1),
    ], _crm),
    "ticket_update": Tool(0.02, 85, 0.5, [
        Err("failure", "HTTP 409 Conflict: ticket was modified by another user", True, 1),
        Err("failure", "HTTP 403 Forbidden", False, 1),
    ], lambda p, r, ctx: {"ticket_id": p["ticket_id"], "status": p["status"],
                          "previous_status": c(r, ["open", "pending", "escalated"]), "updated_at": _stamp(ctx)}),
}

#: Calls an agent gets wrong first, as agents do: the wrong argument, the error it gets, and then
#: the call it makes instead (a typo in a path or a channel, a key not exported yet, a table's
#: name in the singular). Made with probability MISTAKE_RATE where a call has such a variant.
MISTAKE_RATE = 0.04
WRONG_PATHS = {"/var/log/app/error.log": "/var/log/app/errors.log", "/etc/app/config.yaml": "/etc/app/config.yml",
               "/data/reports/q3_summary.csv": "/data/reports/q3-summary.csv",
               "/data/exports/customers.json": "/data/export/customers.json"}
WRONG_CHANNELS = {"#incidents": "#incident", "#ops-alerts": "#ops_alerts", "#support": "#support-team",
                  "#analytics": "#analytic", "#research": "#reseach"}
WRONG_KEYS = {"orders/2025-11-09.csv": "orders/2025-11-10.csv", "postgres/2025-11-09.dump": "postgres/2025-11-10.dump",
              "monthly/2025-10/revenue.xlsx": "monthly/2025-11/revenue.xlsx"}


def _mistake(name: str, p: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    """A wrong version of the call ``name(p)`` and the error it gets, or None."""
    if name == "file_read" and p["path"] in WRONG_PATHS:
        bad = WRONG_PATHS[p["path"]]
        return p | {"path": bad}, f"FileNotFoundError: [Errno 2] No such file or directory: '{bad}'"
    if name == "slack_post":
        return p | {"channel": WRONG_CHANNELS[p["channel"]]}, "channel_not_found"
    if name == "s3_download" and p["key"] in WRONG_KEYS:
        bad = p | {"key": WRONG_KEYS[p["key"]]}
        return bad, f"NoSuchKey: {_s3_path(bad)}"
    if name == "database_query" and p["table"].endswith("s"):
        return p | {"table": p["table"][:-1]}, f'relation "{p["table"][:-1]}" does not exist'
    if name == "crm_lookup":
        bad = p["customer_id"].split("-")[1]
        return p | {"customer_id": bad}, f"HTTP 404 Not Found: customer {bad}"
    return None


# ---------------------------------------------------------------- workflows

Step = tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], dict[str, Any]]  # name, arguments[, how the world is]
#: A workflow's plan: a step, or a list of steps the agent makes together in one turn (in parallel).
Item = Step | list[Step]
Workflow = Callable[[random.Random], list[Item]]
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


def _cache_aside(r: random.Random) -> list[Item]:
    table = c(r, TABLES)
    key = CACHE_KEYS[table]
    return [("cache_get", {"key": key}, {"miss": True}), _db(r, table, "select"),
            ("cache_set", {"key": key, "ttl_seconds": c(r, [300, 3600, 86400])})]


def _report_to_s3(r: random.Random) -> list[Item]:
    table = c(r, TABLES)
    return [_db(r, table, "aggregate"), ("code_execute", {"language": "python", "timeout_seconds": c(r, [30, 60])}),
            _file_write(r, "/data/reports/weekly_summary.csv"),
            ("s3_upload", {"bucket": "acme-reports", "key": _upload_key(r, "acme-reports")})]


def _analytics_long(r: random.Random) -> list[Item]:
    table = c(r, TABLES)
    return [("cache_get", {"key": CACHE_KEYS[table]}), _db(r, table, "aggregate"),
            ("code_execute", {"language": "python", "timeout_seconds": 60}), _file_write(r, "/data/reports/weekly_summary.csv"),
            ("s3_upload", {"bucket": "acme-reports", "key": _upload_key(r, "acme-reports")}),
            _slack(r, "#analytics", ["Weekly report uploaded", "Dashboard numbers refreshed"])]


def _support_reply(r: random.Random) -> list[Item]:
    cust = c(r, sorted(CUSTOMERS))
    return [[("crm_lookup", {"customer_id": cust}),
             ("vector_search", {"index": "support-tickets", "query": c(r, QUERIES[:2]), "top_k": 5})],
            _llm(r, "claude-sonnet-4-5"), _email(r, CUSTOMERS[cust], "Your support ticket")]


def _support_long(r: random.Random) -> list[Item]:
    cust = c(r, sorted(CUSTOMERS))
    return [[("crm_lookup", {"customer_id": cust}), _db(r, "tickets", "select")],
            ("vector_search", {"index": "support-tickets", "query": c(r, QUERIES[:2]), "top_k": c(r, [3, 5])}),
            _llm(r, "claude-sonnet-4-5"), _email(r, CUSTOMERS[cust], "Your support ticket"),
            ("ticket_update", {"ticket_id": c(r, TICKET_IDS), "status": "resolved"})]


def _research_brief(r: random.Random) -> list[Item]:
    return [("search_web", {"query": c(r, QUERIES), "max_results": c(r, [5, 10])}),
            ("http_get", {"url": c(r, RESEARCH_URLS), "timeout_seconds": c(r, [10, 30])}), _llm(r),
            _slack(r, "#research", ["Research brief ready", "Summary posted in thread"])]


def _research_long(r: random.Random) -> list[Item]:
    first, second = r.sample(RESEARCH_URLS, 2)
    return [("search_web", {"query": c(r, QUERIES), "max_results": 10}),
            [("http_get", {"url": first, "timeout_seconds": 30}), ("http_get", {"url": second, "timeout_seconds": 30})],
            ("pdf_extract", {"path": PDFS[2], "pages": "all"}), _llm(r, "claude-opus-4-1"), _file_write(r, "/tmp/report.md"),
            _slack(r, "#research", ["Research brief ready"])]


def _ops_incident(r: random.Random) -> list[Item]:
    return [("http_get", {"url": c(r, HEALTH_URLS), "timeout_seconds": 5}, {"degraded": True}),
            [("log_write", {"level": "error", "message": "health check failed"}),
             _slack(r, "#incidents", ["API health check failing, investigating", "Paging on-call: status endpoint down"])],
            ("calendar_create", {"title": "Incident review", "date": c(r, DATES), "duration_minutes": c(r, [30, 60])})]


def _ops_long(r: random.Random) -> list[Item]:
    return [("http_get", {"url": c(r, HEALTH_URLS), "timeout_seconds": 5}, {"degraded": True}),
            ("file_read", {"path": "/var/log/app/error.log"}),
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


def _etl(r: random.Random) -> list[Item]:
    bucket = c(r, ["acme-exports", "ml-artifacts"])
    return [("queue_consume", {"topic": "orders.created", "max_messages": 50}),
            ("s3_download", {"bucket": bucket, "key": _upload_key(r, bucket)}),
            ("code_execute", {"language": "python", "timeout_seconds": 60}), _db(r, "orders", "insert"),
            ("queue_publish", {"topic": "reports.ready", "message_type": "event"})]


def _etl_long(r: random.Random) -> list[Item]:
    return [("queue_consume", {"topic": "orders.created", "max_messages": 50}),
            ("s3_download", {"bucket": "acme-exports", "key": "orders/2025-11-09.csv"}),
            ("code_execute", {"language": "sql", "timeout_seconds": 60}), _db(r, "orders", "insert"), _db(r, "events", "insert"),
            ("s3_upload", {"bucket": "acme-backups", "key": "postgres/2025-11-09.dump"}),
            ("queue_publish", {"topic": "reports.ready", "message_type": "event"})]


def _billing_reminder(r: random.Random) -> list[Item]:
    cust = c(r, sorted(CUSTOMERS))
    return [[("crm_lookup", {"customer_id": cust}), _db(r, "invoices", "select")],
            _email(r, CUSTOMERS[cust], "Invoice overdue reminder")]


def _billing_long(r: random.Random) -> list[Item]:
    cust = c(r, sorted(CUSTOMERS))
    return [("s3_download", {"bucket": "acme-reports", "key": "monthly/2025-10/revenue.xlsx"}),
            ("pdf_extract", {"path": "/data/invoices/INV-20931.pdf", "pages": "1"}), ("crm_lookup", {"customer_id": cust}),
            _db(r, "invoices", "update"), _email(r, CUSTOMERS[cust], "Invoice overdue reminder"),
            _slack(r, "#analytics", ["Overdue invoices processed"])]


def _meeting(r: random.Random) -> Step:
    return "calendar_create", {"title": c(r, MEETINGS), "date": c(r, DATES), "duration_minutes": c(r, [15, 30, 45, 60])}


def _sched_long(r: random.Random) -> list[Item]:
    return [("cache_get", {"key": "calendar:free_slots"}), _meeting(r),
            ("cache_set", {"key": "calendar:free_slots", "ttl_seconds": 300}),
            [_email(r, c(r, TEAM_ADDRESSES), "Meeting invitation"), _slack(r, "#analytics", ["Sync scheduled, invite sent"])],
            ("log_write", {"level": "info", "message": "report generated"})]


def _notify(r: random.Random) -> list[Item]:
    topic = c(r, ["tickets.escalated", "alerts.ops"])
    channel = "#support" if topic == "tickets.escalated" else "#ops-alerts"
    texts = ["New escalation needs an owner", "Alert: queue lag above 60s"]
    return [("queue_consume", {"topic": topic, "max_messages": c(r, [1, 10])}), _slack(r, channel, texts)]


def _notify_long(r: random.Random) -> list[Item]:
    return [("queue_consume", {"topic": "tickets.escalated", "max_messages": 10}), ("crm_lookup", {"customer_id": c(r, sorted(CUSTOMERS))}),
            ("ticket_update", {"ticket_id": c(r, TICKET_IDS), "status": "escalated"}), _slack(r, "#support", ["New escalation needs an owner"]),
            _email(r, "support-leads@acme-corp.com", "Your support ticket"), _metric(r)]


# agent -> (weight, {bucket: [(weight, workflow)]}); bucket 1 = one call, 2 = 2-3, 4 = 4-5, 6 = 6+
W = Workflow
AGENTS: dict[str, tuple[float, dict[int, list[tuple[float, W]]]]] = {
    "AnalyticsAgent": (1.6, {
        1: [(3, lambda r: [_db(r)]), (1, lambda r: [("cache_get", {"key": CACHE_KEYS[c(r, TABLES)]})]), (1, lambda r: [_metric(r)])],
        2: [(3, _cache_aside), (2, lambda r: [_db(r, op="aggregate"), _metric(r)]),
            (1, lambda r: [[_db(r, t, "count") for t in r.sample(TABLES, 2)], _metric(r)])],  # two counts at once
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
        4: [(1, lambda r: [("queue_consume", {"topic": "alerts.ops", "max_messages": 10}),
                           [_log(r), _slack(r, "#ops-alerts", ["Alert: queue lag above 60s"]),
                            _email(r, "ops-oncall@acme-corp.com", "Incident summary")]])],
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


def _call(r: random.Random, name: str, params: dict[str, Any], ctx: dict[str, Any], *, succeed: bool = False,
          wrong: str | None = None) -> dict[str, Any]:
    """One call of a tool: status, result, error, latency, and the fix an agent may try. ``succeed``:
    a corrected call, which works; ``wrong``: the error a wrong argument gets."""
    tool = TOOLS[name]
    if wrong is not None:
        return {"status": "failure", "result": None, "error": wrong, "latency_ms": _latency(r, tool, params) * r.uniform(0.2, 1.0),
                "transient": False, "fix": None}
    if succeed or r.random() >= tool.fail_rate:
        return {"status": "success", "result": tool.result(params, r, ctx), "error": None,
                "latency_ms": _latency(r, tool, params), "transient": False, "fix": None}
    err = _pick(r, [(e.weight, e) for e in tool.errors])
    message = err.message(params, r) if callable(err.message) else err.message
    if err.status == "timeout":
        latency = 1000 * float(params.get("timeout_seconds", tool.timeout_s)) + r.uniform(0.5, 40)
    else:  # errors come back at about the speed of an answer, or faster
        latency = _latency(r, tool, params) * r.uniform(0.2, 1.0)
    return {"status": err.status, "result": None, "error": message, "latency_ms": latency, "transient": err.transient,
            "fix": err.fix}


def _learn(ctx: dict[str, Any], name: str, params: dict[str, Any]) -> None:
    """What a successful call tells the agent, for the results of its later calls."""
    if name == "crm_lookup":
        ctx["customer"] = params["customer_id"]
    elif name == "file_write":
        ctx["written"] = params["bytes"]
    elif name == "pdf_extract":
        ctx["pdf"] = True


class _Run:
    """One session as it runs: the clock, what the agent learnt, the log lines written."""

    def __init__(self, r: random.Random, agent: str, session_id: str | None, start: datetime) -> None:
        self.r, self.agent, self.session_id, self.now = r, agent, session_id, start
        self.ctx: dict[str, Any] = {"agent": agent}
        self.out: list[dict[str, Any]] = []

    def turn(self, calls: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]]) -> list[dict[str, Any]]:
        """One assistant turn: its calls start together (a millisecond or two apart) and the turn
        ends when the slowest returns. ``calls``: (name, arguments, opts, how to call)."""
        r = self.r
        step_id = f"step_{_hex(r, 16)}"
        start, end, made = self.now, self.now, []
        for i, (name, params, opts, how) in enumerate(calls):
            at = start + timedelta(milliseconds=i * r.uniform(0.3, 2.5))
            self.ctx.update(now=at, opts=opts)
            call = _call(r, name, params, self.ctx, **how)
            done = at + timedelta(milliseconds=call["latency_ms"])
            if name == "slack_post" and call["result"]:
                call["result"]["ts"] = call["result"]["message"]["ts"] = f"{done.timestamp():.6f}"
            if call["status"] == "success":
                _learn(self.ctx, name, params)
            self.out.append({"tool_name": name, "agent_name": self.agent, "session_id": self.session_id, "step_id": step_id,
                             "parameters": dict(params), "result": call["result"], "status": call["status"],
                             "error": call["error"], "latency_ms": call["latency_ms"], "timestamp": at})
            end = max(end, done)
            made.append(call)
        self.now = end
        return made

    def think(self, median_ms: float = 1500) -> None:
        self.now += timedelta(milliseconds=self.r.lognormvariate(math.log(median_ms), 0.8))


def _session(r: random.Random, agent: str, plan: list[Item], start: datetime, session_id: str | None) -> list[dict[str, Any]]:
    """Runs a planned workflow, one turn after the other with think time between (the calls of a
    turn in parallel). A call with a wrong argument (MISTAKE_RATE) fails and is mostly followed by
    the right one; after a failure the agent tries a fix where the error has one (longer timeout,
    another model or date or page), retries once, stops, or goes on without the answer."""
    run = _Run(r, agent, session_id, start)
    for item in plan:
        group = [s if len(s) == 3 else (*s, {}) for s in (item if isinstance(item, list) else [item])]
        planned = []
        for name, params, opts in group:
            wrong = _mistake(name, params) if r.random() < MISTAKE_RATE else None
            planned.append((name, params, opts, wrong))
        made = run.turn([(n, wrong[0] if wrong else p, o, {"wrong": wrong[1]} if wrong else {}) for n, p, o, wrong in planned])
        for (name, params, opts, wrong), call in zip(planned, made):
            if call["status"] == "success":
                continue
            if not _recover(run, name, params, opts, call, wrong is not None):
                return run.out
        run.think()
    return run.out


def _recover(run: _Run, name: str, params: dict[str, Any], opts: dict[str, Any], call: dict[str, Any], mistake: bool) -> bool:
    """What the agent does after ``call`` failed; False when it gives up on the session."""
    r = run.r
    if mistake:  # it reads the error, sees its typo and makes the right call
        if r.random() < 0.1:
            return False
        run.think(900)
        run.turn([(name, params, opts, {"succeed": True})])
        return True
    if call["fix"] is not None and r.random() < 0.6:  # another argument, another model, another page
        run.think(900)
        fixed = call["fix"](params, r)
        run.turn([(fixed[0], fixed[1], opts, {"succeed": True})])
        return True
    attempts = 1
    while True:
        p_retry, p_stop = (0.6, 0.25) if call["transient"] else (0.15, 0.55)
        roll = r.random()
        if attempts < 2 and roll < p_retry:
            run.now += timedelta(milliseconds=r.uniform(500, 4000))  # backoff
            # the same call again: a transient error may be gone, a permanent one comes back
            call = run.turn([(name, params, opts, {} if call["transient"] else {"wrong": call["error"]})])[0]
            attempts += 1
            if call["status"] == "success":
                return True
            continue
        return roll >= p_retry + p_stop  # go on without the answer, or stop


def _session_start(r: random.Random) -> datetime:
    day = r.randrange(DAYS)
    weekend = day >= 5
    hour = r.choices(range(24), [1] * 7 + [4, 8, 10, 10, 9, 7, 9, 10, 9, 8, 6, 4, 3, 2, 1, 1, 1])[0]
    if weekend and r.random() < 0.6:
        hour = r.randrange(24)
    return START + timedelta(days=day, hours=hour, seconds=r.uniform(0, 3600))


def _b64url(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _plant_secrets(r: random.Random, rows: list[dict[str, Any]]) -> None:
    """What slips into real logs: API keys in request headers, a password in a login call (and the
    token it got back). They go into calls of short sessions whose calls all succeeded, so that the
    quickstart keeps them and its redaction has something to find."""
    sessions: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        sessions[row["session_id"]].append(row)

    def kept(row: dict[str, Any]) -> bool:
        calls = sessions[row["session_id"]] if row["session_id"] else [row]
        return len(calls) <= 5 and all(call["status"] == "success" for call in calls)

    gets = [row for row in rows if row["tool_name"] == "http_get" and kept(row)]
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
        if row["status"] == "success":  # and the session token it got back
            issued = int(datetime.fromisoformat(row["timestamp"]).timestamp())
            claims = json.dumps({"sub": "svc-reporting", "iat": issued, "exp": issued + 3600}, separators=(",", ":"))
            token = ".".join([_b64url('{"alg":"HS256","typ":"JWT"}'), _b64url(claims), _b64url(r.randbytes(32))])
            row["result"] = {"status_code": 200, "content_type": "application/json",
                             "body": {"access_token": token, "token_type": "Bearer", "expires_in": 3600}}


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
