"""The Python runner: a config in, the whole pipeline run, the guide's result out. The CLI wraps it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .config import RunConfig, load_config
from .pipeline import Pipeline
from .plugins import PluginManager
from .trainer import ColdStartTrainer


async def run(
    config: RunConfig | Path | str,
    *,
    base_dir: Path | None = None,
    plugins: PluginManager | None = None,
    output_dir: Path | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
    overrides: Iterable[str] = (),
) -> dict[str, Any]:
    """Run the pipeline a config describes and return the guide's result dict.

    ``config`` is a RunConfig or a TOML path; relative paths in it resolve against ``base_dir``
    (default: the config file's folder, or the current directory for a RunConfig); ``overrides``
    (``"trainer.epochs=2"``, ...) change a TOML config's values before it is read. Every setting
    and component option is checked, and every source file found, before any log is read.
    """
    if not isinstance(config, RunConfig):
        path = Path(config)
        config = load_config(path, overrides)
        base_dir = base_dir or path.resolve().parent
    pipeline = Pipeline.from_config(config, base_dir or Path.cwd(), plugins, output_dir)
    trainer = ColdStartTrainer.from_pipeline(pipeline, on_progress=progress)
    return await trainer.run_full_pipeline(pipeline.items())
