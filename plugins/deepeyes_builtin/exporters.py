"""The ``jsonl`` exporter: the guide's record (task_id, prompt, completion, metadata)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from deepeyes_core import NoOptions, TrainingExample, split_file_name, write_split_jsonl


class JsonlExporter:
    """The guide's JSONL record, one file per split: sft_train.jsonl, sft_val.jsonl, sft_test.jsonl."""

    name = "jsonl"
    Options = NoOptions

    def __init__(self, options: NoOptions):
        self.options = options

    def export(
        self, splits: Mapping[str, Sequence[TrainingExample]], output_dir: Path, prompt_layout: str
    ) -> dict[str, Path]:
        return {
            split: write_split_jsonl(output_dir / split_file_name(split), examples, prompt_layout)
            for split, examples in splits.items()
        }
