"""Benchmark (not a test): the ``trl`` backend's tiny recipe on CPU.

Trains the tiny recipe (BPE tokenizer + small Llama from scratch) on the splits of a deepeyes
run (``--from-run``: a run's output folder with sft_train/val/test.jsonl) or on synthetic
tool-use pairs (``deepeyes_trl.synthetic``: 18 tools, 1-5 calls, ~600 pairs), then answers the
held-out prompts with the random init (base) and the trained model. Prints training throughput
(tokens/s), generation throughput (examples/s) and exact-completion accuracy
(whitespace-normalised) before and after. Needs the "trl" extra.

    deepeyes run examples/quickstart.toml --set backend.name=dry-run --output-dir /tmp/qs
    python bench/bench_tiny_training.py --from-run /tmp/qs --epochs 16 --learning-rate 3e-3
    python bench/bench_tiny_training.py                  # synthetic pairs, the recipe's defaults
    python bench/bench_tiny_training.py --json-out tiny.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "plugins")]

from deepeyes_trl import engine, synthetic  # noqa: E402
from deepeyes_trl.chats import numbered, parse_calls  # noqa: E402


def normalise(text: str) -> str:
    return " ".join(text.split())


def exact(answers: list[str], references: list[str]) -> float:
    return sum(normalise(a) == normalise(r) for a, r in zip(answers, references)) / len(references)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="default: TrlSettings' default")
    parser.add_argument("--max-steps", type=int, default=-1)
    parser.add_argument("--learning-rate", type=float, default=None, help="default: TrlSettings' default")
    parser.add_argument("--from-run", type=Path, default=None, help="a deepeyes run folder (sft_*.jsonl)")
    parser.add_argument("--train", type=int, default=510, help="synthetic train pairs (val 45, test 90)")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args()

    train, val, test = _from_run(args.from_run) if args.from_run else synthetic.split(n_train=args.train)
    chosen = {"epochs": args.epochs, "learning_rate": args.learning_rate}
    settings = engine.TrlSettings(max_steps=args.max_steps, **{k: v for k, v in chosen.items() if v is not None})
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        # The engine trains on conversations: each pair as the user's task and one assistant turn of calls.
        outcome = engine.train([synthetic.as_chat(p) for p in train], [synthetic.as_chat(p) for p in val], settings,
                               workdir / "tiny")
        prompts, references = [synthetic.prompt_chat(pair) for pair in test], [c for _, c in test]
        figures = {
            "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
            "device": outcome.device,
            "versions": outcome.library_versions,
            "data": str(args.from_run) if args.from_run else "synthetic",
            "settings": {k: getattr(settings, k) for k in ("epochs", "learning_rate", "batch_size", "tiny_vocab_size",
                                                           "tiny_hidden_size", "tiny_layers", "tiny_heads")},
            "pairs": {"train": len(train), "val": len(val), "test": len(test)},
            "parameters": _parameters(outcome.trained_model_dir),
            "steps": outcome.total_steps,
            "tokens": outcome.total_tokens,
            "train_wall_s": outcome.wall_time_s,
            "train_tokens_per_s": round(outcome.total_tokens / outcome.wall_time_s),
            "epochs": [[e.epoch, e.train_loss, e.val_loss, e.val_token_accuracy] for e in outcome.epochs],
        }
        for role, model_dir in (("base", outcome.base_model_dir), ("trained", outcome.trained_model_dir)):
            started = time.perf_counter()
            answers = [numbered(parse_calls(a)) for a in engine.generate(model_dir, prompts, settings)]
            seconds = time.perf_counter() - started
            figures[role] = {"exact": exact(answers, references), "generation_s": round(seconds, 2),
                             "examples_per_s": round(len(prompts) / seconds, 1)}
    _print(figures)
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2))


def _from_run(folder: Path) -> tuple[list, list, list]:
    def pairs(split: str) -> list[tuple[str, str]]:
        rows = map(json.loads, (folder / f"sft_{split}.jsonl").read_text().splitlines())
        return [(row["prompt"], row["completion"]) for row in rows]

    return pairs("train"), pairs("val"), pairs("test")


def _parameters(model_dir: Path) -> int:
    from transformers import AutoModelForCausalLM

    return sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(model_dir).parameters())


def _print(f: dict) -> None:
    print(f"\ntiny recipe on {f['device']} ({f['machine']}), data: {f['data']}")
    print(f"  {f['parameters']:,} parameters; {f['pairs']['train']} train pairs, {f['steps']} steps, "
          f"{f['tokens']:,} tokens in {f['train_wall_s']:.1f} s -> {f['train_tokens_per_s']:,} tokens/s "
          "(wall time of train(): tokenizer, init, training, checkpoints)")
    print("  epoch  train_loss  val_loss  val_token_acc")
    for epoch, train_loss, val_loss, val_acc in f["epochs"]:
        print(f"  {epoch:5d}  {train_loss:10.4f}  {val_loss:8.4f}  {val_acc:13.3f}")
    for role in ("base", "trained"):
        r = f[role]
        print(f"  {role:7s}: exact completion {r['exact']:6.1%} on {f['pairs']['test']} held-out prompts; "
              f"generation {r['examples_per_s']} examples/s ({r['generation_s']} s, greedy, batched)")


if __name__ == "__main__":
    main()
