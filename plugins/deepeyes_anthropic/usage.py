"""What the Anthropic API calls cost: token counts, prices, and a watch on the prompt cache."""

from __future__ import annotations

import logging
from typing import Any

import attrs

from .client import min_cacheable_tokens

log = logging.getLogger(__name__)


@attrs.frozen
class Prices:
    """USD per million tokens (defaults: Claude Haiku 4.5 list prices, 5-minute cache writes)."""

    input: float = 1.00
    output: float = 5.00
    cache_write: float = 1.25
    cache_read: float = 0.10
    #: The share of these prices a Message Batches request pays.
    batch_discount: float = 0.5


@attrs.define
class TokenUsage:
    """Requests answered and the tokens they used, as the API's ``usage`` reports them."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    def add(self, usage: Any) -> None:
        self.calls += 1
        self.input_tokens += getattr(usage, "input_tokens", 0) or 0
        self.output_tokens += getattr(usage, "output_tokens", 0) or 0
        self.cache_creation_input_tokens += getattr(usage, "cache_creation_input_tokens", 0) or 0
        self.cache_read_input_tokens += getattr(usage, "cache_read_input_tokens", 0) or 0

    def cost(self, prices: Prices) -> float:
        return (
            self.input_tokens * prices.input
            + self.output_tokens * prices.output
            + self.cache_creation_input_tokens * prices.cache_write
            + self.cache_read_input_tokens * prices.cache_read
        ) / 1e6

    def cache_savings(self, prices: Prices) -> float:
        """What prompt caching saved against paying the full input price (writes cost extra)."""
        return (
            self.cache_read_input_tokens * (prices.input - prices.cache_read)
            - self.cache_creation_input_tokens * (prices.cache_write - prices.input)
        ) / 1e6


@attrs.define
class AnthropicUsage:
    """What a describer (or backend) spent: put ``converter.unstructure(usage)`` in the stats."""

    model: str
    prices: Prices = attrs.field(factory=Prices)
    interactive: TokenUsage = attrs.field(factory=TokenUsage)
    batch: TokenUsage = attrs.field(factory=TokenUsage)
    #: Calls started (answered or not); what ``max_calls`` counts.
    calls_started: int = 0
    batches: int = 0
    batch_ids: list[str] = attrs.field(factory=list)
    #: Answers read from the on-disk cache: no call made.
    cached: int = 0
    #: Requests that failed after the SDK's retries (or errored in a batch).
    failed_calls: int = 0
    validation_retries: int = 0
    rejected: int = 0
    fallbacks: int = 0
    budget_exhausted: bool = False
    estimated_cost_usd: float = 0.0
    cache_savings_usd: float = 0.0
    cache_warning: str | None = None

    @property
    def input_tokens(self) -> int:
        return self.interactive.input_tokens + self.batch.input_tokens

    @property
    def total_input_tokens(self) -> int:
        """Every input token billed: uncached, cache writes and cache reads."""
        return sum(
            u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens
            for u in (self.interactive, self.batch)
        )

    @property
    def output_tokens(self) -> int:
        return self.interactive.output_tokens + self.batch.output_tokens

    def record(self, usage: Any, mode: str) -> None:
        (self.batch if mode == "batch" else self.interactive).add(usage)
        discount = self.prices.batch_discount
        self.estimated_cost_usd = self.interactive.cost(self.prices) + discount * self.batch.cost(self.prices)
        self.cache_savings_usd = self.interactive.cache_savings(self.prices) + discount * self.batch.cache_savings(
            self.prices
        )


class CacheProbe:
    """Watches responses for proof that the prompt cache works; sets ``usage.cache_warning`` if not."""

    def __init__(self, usage: AnthropicUsage, model: str):
        self.usage = usage
        self.model = model
        self.seen = False
        self.worked = False
        self.prefix_tokens: int | None = None

    def observe(self, api_usage: Any) -> None:
        created = getattr(api_usage, "cache_creation_input_tokens", 0) or 0
        read = getattr(api_usage, "cache_read_input_tokens", 0) or 0
        if created or read:
            self.worked = True
            self.usage.cache_warning = None
        elif not self.seen and not self.worked:
            minimum = min_cacheable_tokens(self.model)
            size = f"of {self.prefix_tokens:,} tokens" if self.prefix_tokens else "too short to cache"
            self.usage.cache_warning = (
                f"the prompt-cache breakpoint sits on a prefix {size}"
                + (f" ({self.model} caches prefixes of {minimum:,} tokens or more)" if minimum else "")
                + ": the first response wrote no cache and read none, so nothing is cached and every "
                "call pays the full input price for the shared prefix"
            )
            log.warning("anthropic: %s", self.usage.cache_warning)
        self.seen = True

    def measured(self, tokens: int) -> None:
        self.prefix_tokens = tokens
        minimum = min_cacheable_tokens(self.model)
        if minimum and tokens < minimum and not self.worked:
            self.usage.cache_warning = (
                f"the prompt-cache breakpoint sits on a prefix of {tokens:,} tokens, below "
                f"{self.model}'s minimum cacheable length of {minimum:,} tokens: nothing will be cached"
            )
            log.warning("anthropic: %s", self.usage.cache_warning)
