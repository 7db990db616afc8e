"""A run's TOML configuration, structured into attrs classes by cattrs, with readable errors.

Every table that picks a component has a ``name`` key; its other keys are that component's options::

    output_dir = "runs/quickstart"        # relative paths resolve against the config file's folder

    [[sources]]
    name = "baseline"
    paths = ["logs/*.jsonl"]

    [describer]
    name = "template"

    [backend]
    name = "dry-run"
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs
import cattrs

from .errors import ConfigError
from .records import converter
from .redaction import RedactionOptions
from .settings import (
    CollectorSettings,
    DatasetSettings,
    EngineSettings,
    EvaluationSettings,
    InvalidSetting,
    TrainerSettings,
)


@attrs.frozen
class ComponentConfig:
    """A component by name, with its options (structured later into the component's Options)."""

    name: str
    options: dict[str, Any] = attrs.field(factory=dict)


def _paths(value: str | list[str]) -> list[str]:
    """``paths = "logs/a.jsonl"`` is one path, as ``paths = ["logs/a.jsonl"]`` is."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise InvalidSetting(f"paths must be a path or a list of paths, got {value!r}")
    return value


@attrs.frozen
class SourceConfig:
    name: str
    paths: list[str] = attrs.field(converter=_paths)
    options: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class RunConfig:
    """A whole run. A component table left out (or ``exporters``) means the pipeline's default
    component of that kind (see :data:`deepeyes_core.pipeline.DEFAULT_COMPONENTS`)."""

    sources: list[SourceConfig]
    output_dir: str = "runs/deepeyes"
    collector: CollectorSettings = CollectorSettings()
    describer: ComponentConfig | None = None
    classifier: ComponentConfig | None = None
    dataset: DatasetSettings = DatasetSettings()
    splitter: ComponentConfig | None = None
    exporters: list[ComponentConfig] | None = None
    trainer: TrainerSettings = TrainerSettings()
    backend: ComponentConfig | None = None
    #: No default: without a ``[router]`` table every example goes to SFT, as before.
    router: ComponentConfig | None = None
    redaction: RedactionOptions = RedactionOptions()
    evaluation: EvaluationSettings = EvaluationSettings()
    #: Phase 1's table (``deepeyes baseline --config``, see :mod:`deepeyes_core.baseline_config`);
    #: a run ignores it.
    baseline: dict[str, Any] | None = None
    engine: EngineSettings = EngineSettings()


_config_converter = converter.copy(forbid_extra_keys=True)


def _split_options(fixed: tuple[str, ...]):
    def hook(value: Any, cls: type) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected a table, got {type(value).__name__}")
        if "name" not in value:
            raise ValueError("missing key 'name' (the component to use)")
        rest = {k: v for k, v in value.items() if k not in fixed}
        return cls(**{k: value[k] for k in fixed if k in value}, options=rest)

    return hook


_config_converter.register_structure_hook(ComponentConfig, _split_options(("name",)))
_config_converter.register_structure_hook(SourceConfig, _split_options(("name", "paths")))
_config_converter.register_unstructure_hook(
    ComponentConfig, lambda c: {"name": c.name, **c.options}
)
_config_converter.register_unstructure_hook(
    SourceConfig, lambda c: {"name": c.name, "paths": c.paths, **c.options}
)


def parse_config(data: dict[str, Any], origin: str = "config") -> RunConfig:
    """Structure a config mapping; any problem is a ConfigError naming the file and the key."""
    try:
        return _config_converter.structure(data, RunConfig)
    except cattrs.BaseValidationError as exc:
        problems = "; ".join(_where(line) for line in cattrs.transform_error(exc, "$", _message))
        raise ConfigError(f"{origin}: invalid configuration: {problems}") from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{origin}: invalid configuration: {exc}") from exc


def _message(exc: BaseException, type_: Any) -> str:
    """A settings check's own sentence (it names the field and the allowed values); cattrs'
    wording for the rest."""
    return str(exc) if isinstance(exc, InvalidSetting) else cattrs.v.format_exception(exc, type_)


def _where(line: str) -> str:
    """cattrs' ``"message @ $.collector"`` as ``"collector: message"``."""
    message, _, path = line.rpartition(" @ ")
    path = path.removeprefix("$").lstrip(".")
    return f"{path}: {message}" if path else message


#: Keys of a component table that are not the component's options.
_NOT_OPTIONS = ("name", "paths")


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """``data`` with each ``dotted.key=value`` set (``backend.name=dry-run``, ``trainer.epochs=2``,
    ``sources.0.paths=["a.jsonl"]``). A value is read as TOML (``2``, ``true``, ``["a"]``), and as a
    plain string where it is not valid TOML. Naming another component (``backend.name=dry-run``)
    drops the options the table held for the one it replaces; set the new one's options after it."""
    data = copy.deepcopy(data)
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {override!r}: expected KEY=VALUE, e.g. trainer.epochs=2")
        try:
            value = tomllib.loads(f"value = {raw}")["value"]
        except tomllib.TOMLDecodeError:
            value = raw
        *parents, last = key.strip().split(".")
        node: Any = data
        for part in parents:
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict):
                node = node.setdefault(part, {})
            else:
                raise ConfigError(f"--set {key}: {part!r} is not a table or an index of one")
        if isinstance(node, list) and last.isdigit() and int(last) < len(node):
            node[int(last)] = value
        elif isinstance(node, dict):
            if last == "name" and node.get("name", value) != value:
                # Another component: the options of the one it replaces are not its options.
                for option in [k for k in node if k not in _NOT_OPTIONS]:
                    del node[option]
            node[last] = value
        else:
            raise ConfigError(f"--set {key}: {last!r} is not a key of a table")
    return data


def read_toml(path: Path, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """A TOML file as data, with ``overrides`` (see :func:`apply_overrides`) applied; a missing or
    malformed file is a ConfigError naming it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return apply_overrides(data, overrides)


def load_config(path: Path | str, overrides: Iterable[str] = ()) -> RunConfig:
    """The config in a TOML file, with ``overrides`` (see :func:`apply_overrides`) applied."""
    path = Path(path)
    return parse_config(read_toml(path, overrides), str(path))


#: Keys whose values a report never shows: API keys, and an MCP server's headers and environment
#: (bearer tokens, keys), which a ``[baseline]`` table in a run's config may hold.
_SECRET_OPTIONS = frozenset({"api_key", "headers", "env"})


def _without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("***" if k in _SECRET_OPTIONS and v else _without_secrets(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def config_to_dict(config: RunConfig) -> dict[str, Any]:
    """The config as plain data, the way it would be written in TOML (for reports); secrets masked."""
    data = _config_converter.unstructure(config)
    if data.get("router") is None:
        data.pop("router", None)  # a run without a router reports its config as before
    return _without_secrets(data)
