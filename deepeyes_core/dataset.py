"""Phase 2, step 2: split the examples, balance tools across splits, export, and describe the result."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from .components import Exporter, RecordExporter, SplitRatios, Splitter
from .dedup import calls_key
from .errors import DatasetError
from .io import atomic_write
from .pipeline import DEFAULT_COMPONENTS, DEFAULT_OUTPUT_DIR, default_component
from .records import DIFFICULTIES, SPLITS, Rejection, TrainingExample
from .settings import DATASET, DatasetSettings, InvalidSetting

_WRITE_BATCH = 32


def split_file_name(split: str) -> str:
    return f"sft_{split}.jsonl"


def write_split_jsonl(path: Path, examples: Sequence[TrainingExample], prompt_layout: str) -> Path:
    """The guide's JSONL record (task_id, prompt, completion, metadata), one per line, atomically.

    ``to_dict`` gives plain JSON data already, so it goes to orjson without the converter's walk
    over it (which cost as much as making the record), in writes of some 50 KB: small enough to stay
    in the CPU cache (measured: 1.3 s for 143,000 records, against 2.0 s in writes of 1.7 MB)."""
    dumps = orjson.dumps
    with atomic_write(path) as handle:
        for start in range(0, len(examples), _WRITE_BATCH):
            batch = examples[start : start + _WRITE_BATCH]
            handle.write(b"\n".join([dumps(example.to_dict(prompt_layout)) for example in batch]) + b"\n")
    return path


def checked_records(
    exporter: RecordExporter, splits: Mapping[str, Sequence[TrainingExample]], prompt_layout: str
) -> dict[str, list[tuple[TrainingExample, dict[str, Any]]]]:
    """Each example with its record (``exporter.record``), split by split (train, val, test, then
    any other by name), every one checked by the example's ``validate()`` and ``exporter.check``.
    The first that breaks a rule raises DatasetError naming the exporter, the example, the split
    and the rules, before the caller has written anything."""
    rank = {name: i for i, name in enumerate(SPLITS)}
    checked: dict[str, list[tuple[TrainingExample, dict[str, Any]]]] = {}
    for split in sorted(splits, key=lambda name: (rank.get(name, len(SPLITS)), name)):
        rows = checked[split] = []
        for example in splits[split]:
            record = exporter.record(example, prompt_layout)
            problems = example.validate() + exporter.check(record)
            if problems:
                raise DatasetError(
                    f"{exporter.name}: example {example.task_id!r} (split {split!r}) breaks a rule of the "
                    f"format: {'; '.join(problems)}"
                )
            rows.append((example, record))
    return checked


def format_rejections(
    examples: Sequence[TrainingExample], exporters: Sequence[Exporter], prompt_layout: str
) -> tuple[list[TrainingExample], list[Rejection]]:
    """The examples every exporter can write, and a Rejection for each other one (reason
    ``breaks the <format> format``, the rules it breaks as detail), checked before the split so
    that every export holds the same examples and one bad example cannot stop a run half-way.
    Exporters that make a record per example (:class:`RecordExporter`) are checked; others
    cannot be asked before they write."""
    checkers = [e for e in exporters if callable(getattr(e, "record", None)) and callable(getattr(e, "check", None))]
    if not checkers:
        return list(examples), []
    kept, rejected = [], []
    for example in examples:
        for exporter in checkers:
            try:
                problems = exporter.check(exporter.record(example, prompt_layout))
            except (TypeError, ValueError, KeyError) as exc:
                problems = [f"{type(exc).__name__}: {exc}"]
            if problems:
                rejected.append(Rejection(
                    f"breaks the {exporter.name} format", "; ".join(problems), example.locations,
                    example.sequence_length, stage="check",
                ))
                break
        else:
            kept.append(example)
    return kept, rejected


def keep_calls_together(
    splits: Mapping[str, Sequence[TrainingExample]],
    key: Callable[[TrainingExample], str] = calls_key,
) -> tuple[dict[str, list[TrainingExample]], int]:
    """``splits`` with every example that makes the same calls as another (the same tools,
    arguments equal once normalised: :func:`~deepeyes_core.dedup.calls_key`) moved into the split
    of the first of them (train, then val, then test): dedup keeps such examples when their
    requests or results differ (paraphrases), and a model must not be tested on calls it was
    trained on word for word. ``key`` gives an example's calls key (default: computed). Returns
    the splits and how many examples moved."""
    home: dict[str, str] = {}
    keys = {}
    for name in SPLITS:
        for example in splits.get(name, ()):
            home.setdefault(keys.setdefault(id(example), key(example)), name)
    out: dict[str, list[TrainingExample]] = {name: [] for name in SPLITS}
    moved = 0
    for name in SPLITS:
        for example in splits.get(name, ()):
            target = home[keys[id(example)]]
            out[target].append(example)
            moved += target != name
    return out, moved


def split_statistics(examples: Sequence[TrainingExample], top: int = 10) -> dict[str, Any]:
    """The guide's per-split statistics block."""
    sequences: Counter[tuple[str, ...]] = Counter()
    difficulties: Counter[str] = Counter()
    succeeded = 0
    for example in examples:
        sequences[example.tool_sequence] += 1
        difficulties[example.difficulty] += 1
        succeeded += example.success
    # Tools counted per distinct sequence, in the order they first appear (ties in top_tools keep it).
    tools: Counter[str] = Counter()
    lengths = 0
    for sequence, n in sequences.items():
        lengths += len(sequence) * n
        for tool in sequence:
            tools[tool] += n
    count = len(examples)
    return {
        "count": count,
        "success_rate_pct": round(100 * succeeded / count, 1) if count else 0.0,
        "avg_sequence_length": round(lengths / count, 2) if count else 0.0,
        "max_sequence_length": max(map(len, sequences), default=0),
        "min_sequence_length": min(map(len, sequences), default=0),
        "unique_tools": len(tools),
        "top_tools": dict(tools.most_common(top)),
        "difficulty_distribution": {level: difficulties[level] for level in DIFFICULTIES},
    }


#: The exporter that writes the guide's record; its files are keyed by split alone.
GUIDE_EXPORTER = DEFAULT_COMPONENTS["exporter"]


class SFTDataset:
    """Training examples organised into train/val/test splits (the guide's SFTDataset).

    The split is the configured splitter's (default: the pipeline's, ``stratified``: by
    difficulty, tools balanced, deterministic for ``random_seed``). Exports go to ``output_dir``.
    ``split_data``, ``export_all_splits`` and ``get_dataset_stats`` are coroutines because the
    guide awaits them; ``balance_dataset`` and ``export_jsonl``, which the guide never awaits and
    which wait on nothing, are plain methods. ``calls_keys``, where given, is each example's
    :func:`~deepeyes_core.dedup.calls_key` in order (None where not known), as
    :func:`~deepeyes_core.dedup.deduplicate` returns them: the split then need not make them again.
    """

    def __init__(
        self,
        training_examples: Sequence[TrainingExample],
        train_ratio: float = DATASET.train_ratio,
        val_ratio: float = DATASET.val_ratio,
        test_ratio: float = DATASET.test_ratio,
        random_seed: int = DATASET.random_seed,
        *,
        splitter: Splitter | None = None,
        output_dir: Path | str = DEFAULT_OUTPUT_DIR,
        prompt_layout: str = DATASET.prompt_layout,
        calls_keys: Sequence[str | None] | None = None,
    ):
        try:
            DatasetSettings(train_ratio, val_ratio, test_ratio, random_seed, prompt_layout)
        except InvalidSetting as exc:
            raise DatasetError(str(exc)) from None
        self.training_examples = list(training_examples)
        self.ratios = SplitRatios(train_ratio, val_ratio, test_ratio, random_seed)
        self.splitter = splitter or default_component("splitter")
        self.output_dir = Path(output_dir)
        self.prompt_layout = prompt_layout
        self.splits: dict[str, list[TrainingExample]] = {}
        self.balance_report: dict[str, Any] | None = None
        #: Examples moved so that every example making the same calls is in one split.
        self.moved_together = 0
        self._calls_keys: dict[int, str] = {}
        #: Calls keys known already (dedup makes them), one per example in order, None: not known.
        self._given_keys = (self.training_examples, calls_keys) if calls_keys is not None else None
        if calls_keys is not None and len(calls_keys) != len(self.training_examples):
            raise DatasetError(f"{len(calls_keys)} calls keys for {len(self.training_examples)} examples")

    def _needed(self) -> int:
        """The fewest examples that give every split with a non-zero ratio at least one."""
        ratios = [r for r in (self.ratios.train, self.ratios.val, self.ratios.test) if r > 0]
        return max(math.ceil(1 / r - 1e-9) for r in ratios)

    async def split_data(self) -> dict[str, list[TrainingExample]]:
        """Assign every example to exactly one of train, val and test. Examples that make the same
        calls (:func:`~deepeyes_core.dedup.calls_key`: paraphrased requests, other results) go to
        one split together: the splitter places the first of each such group, the others follow."""
        needed = self._needed()
        if len(self.training_examples) < needed:
            raise DatasetError(
                f"{len(self.training_examples)} examples cannot fill train/val/test at "
                f"{self.ratios.train:g}/{self.ratios.val:g}/{self.ratios.test:g}: need at least {needed}"
            )
        groups: dict[str, list[TrainingExample]] = {}
        self._calls_keys = {}  # id(example) -> its calls key, computed once for the balance step too
        given, self._given_keys = self._given_keys, None  # used once: not held to the run's end
        known = given[1] if given is not None and given[0] is self.training_examples else ()
        for example, key in itertools.zip_longest(self.training_examples, known):
            key = self._calls_keys[id(example)] = key or calls_key(example)
            groups.setdefault(key, []).append(example)
        firsts = [group[0] for group in groups.values()]
        splits = self.splitter.split(firsts, self.ratios)
        placed = sum(len(splits.get(name, ())) for name in SPLITS)
        if placed != len(firsts) or set(splits) - set(SPLITS):
            raise DatasetError(
                f"splitter {self.splitter.name!r} placed {placed} of {len(firsts)} "
                f"examples into {sorted(splits)}; it must place each exactly once into {', '.join(SPLITS)}"
            )
        self.splits = {
            name: [member for first in splits.get(name, ()) for member in groups[self._calls_keys[id(first)]]]
            for name in SPLITS
        }
        return self.splits

    def balance_dataset(self) -> dict[str, Any]:
        """Balance tool types across splits (where the splitter knows how) and report coverage:
        for each split, the tools that appear in the data but not in it. Call after
        :meth:`split_data`."""
        self._require_split()
        balance = getattr(self.splitter, "balance", None)
        moves = 0
        known, self._calls_keys = self._calls_keys, {}  # used once: not held to the run's end
        if balance is not None:
            self.splits, moves = balance(self.splits)
            self.splits, moved = keep_calls_together(self.splits, lambda e: known.get(id(e)) or calls_key(e))
            self.moved_together += moved
        tools = {name: {t for seq in {e.tool_sequence for e in examples} for t in seq} for name, examples in self.splits.items()}
        all_tools = set().union(*tools.values())
        self.balance_report = {
            "swaps": moves,
            "kept_together": self.moved_together,
            "missing_tools": {name: sorted(all_tools - present) for name, present in tools.items()},
        }
        return self.balance_report

    def export_jsonl(self, split: str) -> Path:
        """Write one split as ``sft_<split>.jsonl`` in the guide's record layout. Call after
        :meth:`split_data`."""
        if split not in SPLITS:
            raise DatasetError(f"unknown split {split!r}; splits: {', '.join(SPLITS)}")
        self._require_split()
        return write_split_jsonl(self.output_dir / split_file_name(split), self.splits[split], self.prompt_layout)

    async def export_all_splits(self, exporters: Sequence[Exporter] | None = None) -> dict[str, Path]:
        """Write every split with each exporter (default: the ``jsonl`` exporter, the guide's
        record); returns ``{split: path}`` for the ``jsonl`` files (the guide's return value) and
        ``{"<format>/<split>": path}`` for the others. Splits first if not split yet."""
        if not self.splits:
            await self.split_data()
        files: dict[str, Path] = {}
        for exporter in exporters if exporters is not None else (default_component("exporter"),):
            written = exporter.export(self.splits, self.output_dir, self.prompt_layout)
            prefix = "" if exporter.name == GUIDE_EXPORTER else f"{exporter.name}/"
            files.update({f"{prefix}{key}": path for key, path in written.items()})
        return files

    async def get_dataset_stats(self) -> dict[str, Any]:
        """The guide's statistics: total_examples, then count, success rate, sequence lengths,
        unique and top tools for each split."""
        if not self.splits:
            await self.split_data()
        stats: dict[str, Any] = {"total_examples": len(self.training_examples)}
        for name in SPLITS:
            stats[name] = split_statistics(self.splits[name])
        return stats

    def _require_split(self) -> None:
        if not self.splits:
            raise DatasetError("the dataset is not split yet: await split_data() first")

    @property
    def split_sizes(self) -> Mapping[str, int]:
        return {name: len(examples) for name, examples in self.splits.items()}
