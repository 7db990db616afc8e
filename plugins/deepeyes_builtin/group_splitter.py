"""The ``group`` and ``hash`` splitters: every example of one group (an agent session, by default)
in one split, so near-identical examples of one session cannot sit in train and in test.

The group of an example is set by the ``key`` option:

``"session"`` (default)
    the agent and the session id. An example without a session id (its trajectory was cut from a
    session-less log by time gap) is a group of its own.
``"agent"``
    the agent: no agent is seen in two splits (the strictest, for testing generalisation to new
    agents; the ratios come out as close as the agents' sizes allow).
``"metadata:<field>"``
    a field of the example's metadata (``TrainingExample.metadata()``): ``metadata:source``,
    ``metadata:session_id``... An example whose field is empty (None) is a group of its own.

``group`` deals whole groups: groups are shuffled with ``ratios.seed``, then each, in turn, goes to
the split furthest below its share once the group is counted (sequential largest remainder on
group sizes), so the ratios come out close when groups are small against the splits. ``hash``
streams: an example's split depends only on a stable hash of its group key and the seed, never on
the other examples, so a growing log keeps every old example where it was; its ratios are met in
expectation only.

Neither balances tools across splits afterwards (the ``stratified`` splitter's ``balance`` swaps
single examples, which would break groups apart).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence

import attrs

from deepeyes_core import SPLITS, DatasetError, SplitRatios, TrainingExample, hookimpl

KEYS = ("session", "agent", "metadata:<field>")


def _check_key(instance: object, attribute: attrs.Attribute, value: str) -> None:
    if value in ("session", "agent"):
        return
    if value.startswith("metadata:") and value[len("metadata:") :].strip():
        return
    raise ValueError(f"key must be one of {', '.join(KEYS)}; got {value!r}")


@attrs.frozen
class GroupOptions:
    #: What makes a group: "session" (agent + session id), "agent", or "metadata:<field>".
    key: str = attrs.field(default="session", validator=_check_key)


def group_key(example: TrainingExample, key: str) -> str:
    """The group an example belongs to, as a string (see the module docstring)."""
    if key == "session":
        if example.session_id is None:
            return f"task\0{example.task_id}"
        return f"session\0{example.agent}\0{example.session_id}"
    if key == "agent":
        return f"agent\0{example.agent}"
    field = key[len("metadata:") :]
    metadata = example.metadata()
    if field not in metadata:
        raise DatasetError(
            f"splitter key {key!r}: examples have no metadata field {field!r}; "
            f"fields: {', '.join(sorted(metadata))}"
        )
    value = metadata[field]
    if value is None:
        return f"task\0{example.task_id}"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return f"{field}\0{text}"


def _shares(ratios: SplitRatios) -> dict[str, float]:
    return {"train": ratios.train, "val": ratios.val, "test": ratios.test}


class GroupSplitter:
    """Whole groups (agent sessions by default) to one split each; ratios met by group sizes."""

    name = "group"
    Options = GroupOptions

    def __init__(self, options: GroupOptions):
        self.options = options

    def groups(self, examples: Sequence[TrainingExample]) -> dict[str, list[TrainingExample]]:
        """Examples by group key, each group in task_id order (so input order does not matter)."""
        out: dict[str, list[TrainingExample]] = {}
        for example in sorted(examples, key=lambda e: e.task_id):
            out.setdefault(group_key(example, self.options.key), []).append(example)
        return out

    def split(self, examples: Sequence[TrainingExample], ratios: SplitRatios) -> dict[str, list[TrainingExample]]:
        groups = self.groups(examples)
        order = sorted(groups)
        random.Random(ratios.seed).shuffle(order)
        shares = _shares(ratios)
        out: dict[str, list[TrainingExample]] = {name: [] for name in SPLITS}
        placed = 0
        for key in order:
            members = groups[key]
            placed += len(members)
            name = max(SPLITS, key=lambda s: shares[s] * placed - len(out[s]))
            out[name].extend(members)
        return out


class HashSplitter:
    """By a stable hash of the group key and the seed: streaming, groups kept whole."""

    name = "hash"
    Options = GroupOptions

    def __init__(self, options: GroupOptions):
        self.options = options

    def assign(self, example: TrainingExample, ratios: SplitRatios) -> str:
        """The split of one example, from its group key and the seed alone."""
        key = group_key(example, self.options.key)
        digest = hashlib.blake2b(f"{ratios.seed}\0{key}".encode(), digest_size=8).digest()
        point = int.from_bytes(digest, "big") / 2**64
        if point < ratios.train or not (ratios.val or ratios.test):
            return "train"
        if point < ratios.train + ratios.val or not ratios.test:
            return "val"
        return "test"

    def split(self, examples: Sequence[TrainingExample], ratios: SplitRatios) -> dict[str, list[TrainingExample]]:
        out: dict[str, list[TrainingExample]] = {name: [] for name in SPLITS}
        for example in examples:
            out[self.assign(example, ratios)].append(example)
        return out


@hookimpl
def deepeyes_splitters():
    return [GroupSplitter, HashSplitter]
