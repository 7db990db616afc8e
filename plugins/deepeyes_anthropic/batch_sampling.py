"""The ``anthropic`` backend's Message Batches mode for sampling the base model (``batch = true``).

Every request of a ``sample``/``sample_steps`` call that the disk cache cannot answer goes into one
batch (more past the API's 100,000 requests / ~200 MB), each request's ``custom_id`` being its cache
key; the batch is polled until it has ended and each answer is stored in the cache entry the
per-request path uses, so a rerun, batched or not, pays nothing twice. Requests that errored
transiently, expired, were canceled or have no result are resubmitted, at most
``batch_max_resubmits`` times; an invalid, refused or still unanswered request stops the call with
a DeepeyesError (answers so far are cached). The ids of batches in flight are kept in
``backend-batches.json`` beside the cache entries as soon as each is created: a rerun resumes
polling those that hold requests it needs instead of submitting them again (answers in them for
requests the rerun does not ask for are not kept). Each request is counted against the budget when
it is submitted; those the budget cannot take are not submitted, the others are collected, then the
call fails with :class:`~deepeyes_anthropic.client.BudgetExhausted`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import attrs

from deepeyes_core import ConfigError, DeepeyesError

from .batches import BATCH_MAX_BYTES, BATCH_MAX_REQUESTS, BatchLedger, batch_failure, poll_batch
from .client import BudgetExhausted, fatal_api_error, import_anthropic, scrub

log = logging.getLogger(__name__)

_COMPONENT = "training backend 'anthropic'"


@attrs.frozen
class SampleRequest:
    """One Messages request of the backend and the cache entry its answer lives in: ``version``
    ``backend-v1`` holds the answer text, ``backend-steps-v1`` the calls."""

    version: str
    params: dict[str, Any]
    #: API tool name -> the tool's own name.
    names: dict[str, str]
    key: str


def _chunks(requests: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The requests in batches within the API's limits (requests and bytes per batch)."""
    chunks: list[list[dict[str, Any]]] = [[]]
    size = 0
    for request in requests:
        request_bytes = len(json.dumps(request, ensure_ascii=False).encode())
        if chunks[-1] and (len(chunks[-1]) >= BATCH_MAX_REQUESTS or size + request_bytes > BATCH_MAX_BYTES):
            chunks.append([])
            size = 0
        chunks[-1].append(request)
        size += request_bytes
    return [chunk for chunk in chunks if chunk]


class BatchSampling:
    """Mixed into :class:`~deepeyes_anthropic.backend.AnthropicBackend`: uses its ``options``,
    ``usage``, ``cache``, ``_model``, ``_api_key``, ``_config_key``, ``_http_client``, ``_client()``
    and its budget and cache methods (``_take_budget``, ``_budget_error``, ``_cached``, ``_keep``)."""

    @property
    def _batch_ledger(self) -> BatchLedger:
        return BatchLedger(self.cache.root / "backend-batches.json")

    async def _batched(self, requests: list[SampleRequest]) -> list[Any]:
        """Every request's value: from the disk cache, else from Message Batches."""
        values: dict[str, Any] = {}
        todo: dict[str, SampleRequest] = {}
        for request in requests:
            if request.key in values or request.key in todo:
                continue
            value = self._cached(request)
            if value is None:
                todo[request.key] = request
            else:
                values[request.key] = value
        if todo:
            client = self._client()
            try:
                await self._batch_rounds(client, todo, values)
            finally:
                if self._http_client is None:
                    await client.close()
        return [values[request.key] for request in requests]

    async def _batch_rounds(self, client: Any, todo: dict[str, SampleRequest], values: dict[str, Any]) -> None:
        failures: dict[str, tuple[str, bool]] = {}  # key -> (why, a resubmission may cure it)
        for saved in self._batch_ledger.load():
            if saved.get("model") == self._model and any(key in todo for key in saved.get("requests", ())):
                log.info("%s: resuming batch %s (%d requests)", _COMPONENT, saved["id"], len(saved["requests"]))
                await self._collect(client, saved, todo, values, failures)
        rounds = 0
        while todo:
            final = [why for key, (why, transient) in failures.items() if key in todo and not transient]
            if final or rounds > self.options.batch_max_resubmits:
                why = final[0] if final else next(why for key, (why, _) in failures.items() if key in todo)
                raise DeepeyesError(
                    f"{_COMPONENT}: {len(todo)} batch requests got no usable answer ({why}"
                    f"{'' if final else f'; after {rounds - 1} resubmissions'}); "
                    f"answers so far are cached: run again to go on"
                )
            rounds += 1
            submit: list[SampleRequest] = []
            reserved = 0
            exhausted = False
            for request in todo.values():
                try:
                    reserved += self._take_budget(request.params)
                except BudgetExhausted:
                    exhausted = True
                    break
                submit.append(request)
            failures = {}
            try:
                requests = [{"custom_id": r.key, "params": r.params} for r in submit]
                submitted = [await self._submit(client, chunk) for chunk in _chunks(requests)]
                try:
                    async with asyncio.TaskGroup() as group:
                        for saved in submitted:
                            group.create_task(self._collect(client, saved, todo, values, failures))
                except* (ConfigError, DeepeyesError) as errors:
                    raise errors.exceptions[0] from None
            finally:
                self._reserved_tokens -= reserved
            if exhausted:
                raise self._budget_error()

    async def _submit(self, client: Any, requests: list[dict[str, Any]]) -> dict[str, Any]:
        """Create one batch and save its id in the ledger before anything else."""
        anthropic = import_anthropic(_COMPONENT)
        try:
            batch = await client.messages.batches.create(requests=requests)
        except anthropic.APIError as exc:
            fatal = fatal_api_error(exc, self._model or "", self._config_key, self._api_key)
            if fatal is not None:
                raise fatal from None
            self.usage.failed_calls += len(requests)
            raise DeepeyesError(
                scrub(f"{_COMPONENT}: batch not created ({type(exc).__name__}: {exc}); answers so far are cached: "
                      "run again to go on", self._api_key)
            ) from None
        saved = {"id": batch.id, "model": self._model, "created_at": time.time(),
                 "requests": [r["custom_id"] for r in requests]}
        ledger = self._batch_ledger
        ledger.save([*ledger.load(), saved])
        self.usage.batches += 1
        self.usage.batch_ids.append(batch.id)
        log.info("%s: submitted batch %s with %d requests", _COMPONENT, batch.id, len(requests))
        return saved

    async def _collect(
        self, client: Any, saved: dict[str, Any], todo: dict[str, SampleRequest], values: dict[str, Any],
        failures: dict[str, tuple[str, bool]],
    ) -> None:
        """Poll one batch until it has ended; keep its answers, note its failures, forget it."""
        batch_id = saved["id"]
        results = await poll_batch(
            client, batch_id, component=_COMPONENT, interval_s=self.options.batch_poll_interval_s,
            max_wait_s=self.options.batch_max_wait_s, ledger_path=self._batch_ledger.path, api_key=self._api_key,
        )
        if results is None:  # unknown to the API: its requests are made again
            self._batch_ledger.forget(batch_id)
            failures.update({key: ("the batch is unknown to the API", True) for key in saved["requests"]})
            return
        seen: set[str] = set()
        async for entry in results:
            key, result = entry.custom_id, entry.result
            seen.add(key)
            if result.type == "succeeded":
                self.usage.record(result.message.usage, "batch")
                request = todo.pop(key, None)
                if request is not None:
                    values[key] = self._keep(request, result.message)
                continue
            self.usage.failed_calls += 1
            if key not in todo:
                continue
            failures[key] = batch_failure(result, self._api_key, self._model, self._config_key)
        for key in saved["requests"]:
            if key in todo and key not in seen:
                failures[key] = ("no result in the batch", True)
        self._batch_ledger.forget(batch_id)
