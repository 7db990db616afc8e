"""Message Batches: the ledger of in-flight batches and the polling both Claude components share,
and the describer's batch mode (submit, poll, collect, resubmit, and resume the batches an
interrupted run left in flight; their ids are kept in ``batches.json`` beside the cache entries)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deepeyes_core import ConfigError, DeepeyesError

from .cache import write_atomically
from .client import (
    DEFAULT_MODEL,
    fatal_api_error,
    import_anthropic,
    message_text,
    scrub,
)
from .prompt import PROMPT_VERSION
from .units import Unit

log = logging.getLogger(__name__)

#: Message Batches limits: requests per batch, and bytes (256 MB, kept under with a margin).
BATCH_MAX_REQUESTS = 100_000
BATCH_MAX_BYTES = 200 * 1024 * 1024


class BatchLedger:
    """The batches in flight, kept in one JSON file (``{"batches": [{"id": ..., ...}]}``), replaced
    atomically; an unreadable file is an empty ledger."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return []
        return [b for b in data.get("batches", []) if isinstance(b, dict) and "id" in b]

    def save(self, batches: list[dict[str, Any]]) -> None:
        write_atomically(self.path, json.dumps({"batches": batches}, indent=1).encode())

    def forget(self, batch_id: str) -> None:
        self.save([b for b in self.load() if b["id"] != batch_id])


async def poll_batch(
    client: Any,
    batch_id: str,
    *,
    component: str,
    interval_s: float,
    max_wait_s: float | None,
    ledger_path: Path,
    api_key: str,
    progress: Callable[[str, dict[str, Any]], None] | None = None,
) -> Any | None:
    """Poll batch ``batch_id`` every ``interval_s`` until it has ended, then its results (an async
    iterator); None when the API does not know the batch. A DeepeyesError after ``max_wait_s`` or
    when polling fails (the id stays in the ledger, so a rerun resumes it)."""
    anthropic = import_anthropic(component)
    deadline = None if max_wait_s is None else time.monotonic() + max_wait_s
    try:
        batch = await client.messages.batches.retrieve(batch_id)
        while batch.processing_status != "ended":
            counts = batch.request_counts
            log.info(
                "%s: batch %s %s: %d processing, %d succeeded, %d errored",
                component,
                batch_id,
                batch.processing_status,
                counts.processing,
                counts.succeeded,
                counts.errored,
            )
            if progress is not None:
                progress("progress", {"batch_id": batch_id, **counts.model_dump()})
            if deadline is not None and time.monotonic() >= deadline:
                raise DeepeyesError(
                    f"batch {batch_id} is still {batch.processing_status} after "
                    f"{max_wait_s}s; its id is saved in {ledger_path}: "
                    "run again to resume polling it (nothing is submitted twice)"
                )
            await asyncio.sleep(interval_s)
            batch = await client.messages.batches.retrieve(batch_id)
        return await client.messages.batches.results(batch_id)
    except anthropic.NotFoundError:
        log.warning("%s: batch %s is unknown to the API; its requests are made again", component, batch_id)
        return None
    except anthropic.APIError as exc:
        raise DeepeyesError(
            scrub(
                f"polling batch {batch_id} failed ({type(exc).__name__}: {exc}); its id is saved in "
                f"{ledger_path}: run again to resume polling it",
                api_key,
            )
        ) from None


#: Batch request errors that resubmitting cannot cure.
FINAL_BATCH_ERRORS = ("invalid_request_error", "authentication_error", "permission_error")


def batch_failure(result: Any, api_key: str | None, model: str | None, change: str) -> tuple[str, bool]:
    """Why a batch request did not succeed (``errored``, ``expired``, ``canceled``), and whether
    resubmitting it may help; an error saying the model does not exist is a ConfigError telling
    the user to change ``change``."""
    if result.type != "errored":
        return f"batch request {result.type}", True
    error = result.error.error
    text = scrub(f"{error.type}: {error.message}", api_key)
    if error.type == "not_found_error" and "model" in error.message.lower():
        raise ConfigError(f"the Anthropic API does not serve model {model!r} ({text}); change {change}")
    return f"batch request errored: {text}", error.type not in FINAL_BATCH_ERRORS


class BatchMode:
    """The batch rounds of :class:`~deepeyes_anthropic.describer.AnthropicDescriber`, which mixes them in:
    they use its ``options``, ``usage``, ``cache``, ``_probe``, ``_api_key``, ``_reserved_tokens`` and
    ``on_batch_progress``, and its per-request methods (``_reserve``, ``_next_attempt``, ``_store``)."""

    @property
    def _ledger_path(self) -> Path:
        return self.cache.root / "batches.json"

    def _ledger(self) -> list[dict[str, Any]]:
        return BatchLedger(self._ledger_path).load()

    def _save_ledger(self, batches: list[dict[str, Any]]) -> None:
        BatchLedger(self._ledger_path).save(batches)

    async def _resume_batches(self, client: Any, units: dict[str, Unit]) -> None:
        """Poll and collect the in-flight batches (saved by an earlier, interrupted run) that hold
        requests this call needs."""
        for saved in self._ledger():
            wanted = any(
                key in units and units[key].outcome is None and self._next_attempt(units[key]) == attempt
                for key, attempt in saved["requests"].values()
            )
            if saved.get("model") != self.options.model or not wanted:
                continue
            log.info("anthropic describer: resuming batch %s (%d requests)", saved["id"], len(saved["requests"]))
            await self._collect_batch(client, saved, units)

    async def _batch_round(
        self, client: Any, system: list[dict[str, Any]], todo: list[Unit], units: dict[str, Unit]
    ) -> None:
        """Submit every request still needed (in batches of at most 100,000 requests / ~200 MB),
        then poll and collect them all concurrently."""
        chunks: list[tuple[list[dict[str, Any]], dict[str, list[Any]], int]] = []
        requests: list[dict[str, Any]] = []
        index: dict[str, list[Any]] = {}
        size = reserved = 0
        for unit in todo:
            call = self._reserve(unit, system)
            if call is None:
                continue
            params, estimate, attempt = call
            custom_id = f"{unit.key[:56]}-a{attempt}"
            request = {"custom_id": custom_id, "params": params}
            request_bytes = len(json.dumps(request, ensure_ascii=False).encode())
            if requests and (len(requests) >= BATCH_MAX_REQUESTS or size + request_bytes > BATCH_MAX_BYTES):
                chunks.append((requests, index, reserved))
                requests, index, size, reserved = [], {}, 0, 0
            requests.append(request)
            index[custom_id] = [unit.key, attempt]
            size += request_bytes
            reserved += estimate
        if requests:
            chunks.append((requests, index, reserved))
        submitted = []
        for requests, index, reserved in chunks:
            saved = await self._submit(client, requests, index, units)
            if saved is None:
                self._reserved_tokens -= reserved
            else:
                submitted.append((saved, reserved))

        async def collect(saved: dict[str, Any], reserved: int) -> None:
            try:
                await self._collect_batch(client, saved, units)
            finally:
                self._reserved_tokens -= reserved

        try:
            async with asyncio.TaskGroup() as group:
                for saved, reserved in submitted:
                    group.create_task(collect(saved, reserved))
        except* (ConfigError, DeepeyesError) as errors:
            raise errors.exceptions[0] from None

    async def _submit(
        self, client: Any, requests: list[dict[str, Any]], index: dict[str, list[Any]], units: dict[str, Unit]
    ) -> dict[str, Any] | None:
        """Create one batch and save its id before anything else; None when it was not created."""
        anthropic = import_anthropic("task describer 'anthropic'")
        try:
            batch = await client.messages.batches.create(requests=requests)
        except anthropic.APIError as exc:
            fatal = fatal_api_error(exc, self.options.model, "[describer] model", self._api_key)
            if fatal is not None:
                raise fatal from None
            detail = scrub(f"batch not created: {type(exc).__name__}: {exc}", self._api_key)[:500]
            for key, _ in index.values():
                units[key].outcome, units[key].detail = "error", detail
            self.usage.failed_calls += len(requests)
            return None
        saved = {"id": batch.id, "model": self.options.model, "created_at": time.time(), "requests": index}
        self._save_ledger([*self._ledger(), saved])
        self.usage.batches += 1
        self.usage.batch_ids.append(batch.id)
        log.info("anthropic describer: submitted batch %s with %d requests", batch.id, len(requests))
        self._progress("submitted", {"batch_id": batch.id, "requests": len(requests)})
        return saved

    def _progress(self, event: str, details: dict[str, Any]) -> None:
        if self.on_batch_progress is not None:
            self.on_batch_progress(event, details)

    async def _collect_batch(self, client: Any, saved: dict[str, Any], units: dict[str, Unit]) -> None:
        batch_id = saved["id"]
        results = await poll_batch(
            client,
            batch_id,
            component="anthropic describer",
            interval_s=self.options.batch_poll_interval_s,
            max_wait_s=self.options.batch_max_wait_s,
            ledger_path=self._ledger_path,
            api_key=self._api_key,
            progress=self.on_batch_progress,
        )
        if results is None:
            self._forget(batch_id)
            return
        seen: set[str] = set()
        async for entry in results:
            target = saved["requests"].get(entry.custom_id)
            if target is None:
                continue
            seen.add(entry.custom_id)
            unit = units.get(target[0])
            result = entry.result
            if result.type == "succeeded":
                message = result.message
                self.usage.record(message.usage, "batch")
                self._probe.observe(message.usage)
                if unit is not None and str(target[1]) in unit.answers:
                    continue
                if unit is not None:
                    self._store(unit, target[1], message_text(message), "batch", message.stop_reason)
                else:  # another describe() call's request: keep the answer for it
                    entry_data = self.cache.get(target[0]) or {
                        "version": PROMPT_VERSION,
                        "model": self.options.model,
                        "answers": {},
                    }
                    entry_data["answers"][str(target[1])] = {
                        "text": message_text(message),
                        "mode": "batch",
                        "stop_reason": message.stop_reason,
                    }
                    self.cache.put(target[0], entry_data)
                continue
            self.usage.failed_calls += 1
            if unit is None or unit.outcome is not None:
                continue
            why, curable = batch_failure(result, self._api_key, self.options.model,
                                         f'[describer] model (e.g. to "{DEFAULT_MODEL}")')
            if curable:
                self._resubmit(unit, why)
            else:
                unit.outcome, unit.detail = "error", why[:500]
        for custom_id, (key, _) in saved["requests"].items():
            unit = units.get(key)
            if custom_id not in seen and unit is not None and unit.outcome is None:
                self._resubmit(unit, "no result in the batch")
        self._forget(batch_id)
        self._progress("ended", {"batch_id": batch_id, "results": len(seen)})

    def _resubmit(self, unit: Unit, why: str) -> None:
        unit.resubmits += 1
        if unit.resubmits > self.options.batch_max_resubmits:
            unit.outcome, unit.detail = "error", f"{why} (after {unit.resubmits - 1} resubmissions)"

    def _forget(self, batch_id: str) -> None:
        BatchLedger(self._ledger_path).forget(batch_id)
