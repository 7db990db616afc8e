"""The plugin manager: built-in plugins first, then the ``deepeyes`` entry-point group.

``DEEPEYES_LOAD_PLUGINS`` (as ``LLM_LOAD_PLUGINS`` in simonw/llm) is an allow-list: unset loads every
installed plugin; a comma-separated list of distribution names loads only those; an empty string
runs with the built-ins alone.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import cattrs
import pluggy

from . import hookspecs
from .components import (
    KINDS,
    ArgumentGenerator,
    DifficultyClassifier,
    Exporter,
    NoOptions,
    Router,
    Splitter,
    TaskDescriber,
    Tool,
    TrainingBackend,
    TrajectorySource,
)
from .errors import ConfigError, PluginError, UnknownComponentError
from .records import converter

log = logging.getLogger(__name__)

#: Built-in plugin modules, registered before any entry point, in this order.
BUILTIN_PLUGINS = (
    "deepeyes_builtin",
    "deepeyes_builtin.source_describer",
    "deepeyes_builtin.group_splitter",
    "deepeyes_builtin.sharegpt",
    "deepeyes_builtin.router",
    "deepeyes_anthropic.messages_source",
    "deepeyes_anthropic.claude_code_source",
    "deepeyes_anthropic.exporters",
    "deepeyes_anthropic.describer",
    "deepeyes_anthropic.backend",
    "deepeyes_anthropic.arguments",
    "deepeyes_openai.chat_source",
    "deepeyes_openai.exporters",
    "deepeyes_openai.responses_source",
    "deepeyes_openai.agents_source",
    "deepeyes_otel.source",
    "deepeyes_langfuse.source",
    "deepeyes_trl.exporters",
    "deepeyes_trl.backend",
)

ENTRY_POINT_GROUP = "deepeyes"
_HOOKS = {kind: f"deepeyes_{kind}s" for kind in KINDS}
_HOOKS["task_describer"] = "deepeyes_task_describers"
_options_converter = converter.copy(forbid_extra_keys=True)
_PROTOCOLS = {
    "trajectory_source": TrajectorySource,
    "task_describer": TaskDescriber,
    "difficulty_classifier": DifficultyClassifier,
    "splitter": Splitter,
    "exporter": Exporter,
    "training_backend": TrainingBackend,
    "router": Router,
    "argument_generator": ArgumentGenerator,
}


def _protocol_methods(protocol: type) -> dict[str, bool]:
    """The methods a component protocol requires, each with whether it must be a coroutine."""
    methods: dict[str, bool] = {}
    for base in reversed(protocol.__mro__):
        if base.__module__ != protocol.__module__ or base.__name__ == "Component":
            continue
        for name, member in vars(base).items():
            if inspect.isfunction(member) and not name.startswith("_"):
                methods[name] = inspect.iscoroutinefunction(member)
    return methods


def contract_problems(kind: str, cls: Any) -> list[str]:
    """What a component class of ``kind`` lacks to meet its protocol (empty when it meets it):
    a ``name``, an attrs ``Options`` class, and each method of the protocol (async where the
    protocol's is)."""
    if not isinstance(cls, type):
        return [f"is not a class but {type(cls).__name__} {cls!r}"]
    problems = []
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        problems.append("has no 'name' (a non-empty string class attribute)")
    options = getattr(cls, "Options", None)
    if options is None:
        problems.append("has no 'Options' class (deepeyes_core.NoOptions when there are none)")
    elif not attrs.has(options):
        problems.append("'Options' is not an attrs class")
    for method, must_be_async in _protocol_methods(_PROTOCOLS[kind]).items():
        found = getattr(cls, method, None)
        if not callable(found):
            problems.append(f"has no method {method}()")
        elif must_be_async and not inspect.iscoroutinefunction(found):
            problems.append(f"{method}() must be a coroutine function (async def)")
    return problems


@attrs.frozen(slots=True)
class Distribution:
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


@attrs.frozen(slots=True)
class ComponentInfo:
    """A component class, its kind and name, and the distribution that provided it."""

    kind: str
    name: str
    cls: type
    distribution: Distribution
    plugin: str

    @property
    def summary(self) -> str:
        doc = (self.cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    def option_defaults(self) -> dict[str, Any]:
        """Each option with its default (``"<required>"`` where it has none)."""
        options = getattr(self.cls, "Options", NoOptions)
        out = {}
        for field in attrs.fields(options):
            if field.default is attrs.NOTHING:
                out[field.name] = "<required>"
            elif isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                out[field.name] = field.default.factory()
            else:
                out[field.name] = field.default
        return out


@attrs.frozen(slots=True)
class PluginInfo:
    """A registered plugin, where it came from, and the hooks it implements."""

    name: str
    distribution: Distribution
    hooks: tuple[str, ...]


@attrs.frozen(slots=True)
class LoadFailure:
    """An entry point that could not be loaded, and why."""

    entry_point: str
    distribution: Distribution
    error: str


def _own_distribution() -> Distribution:
    try:
        return Distribution("deepeyes", importlib.metadata.version("deepeyes"))
    except importlib.metadata.PackageNotFoundError:
        return Distribution("deepeyes", "0+unknown")


class PluginManager:
    """Loads plugins and answers which components exist.

    ``strict=True`` raises on a plugin that fails to load instead of reporting and skipping it.
    ``load_entry_points=False`` (or ``DEEPEYES_LOAD_PLUGINS=""``) runs with the built-ins alone.
    """

    def __init__(
        self,
        *,
        strict: bool = False,
        load_entry_points: bool = True,
        builtins: Iterable[str] = BUILTIN_PLUGINS,
        extra_plugins: Iterable[Any] = (),
    ):
        self.pm = pluggy.PluginManager("deepeyes")
        self.pm.add_hookspecs(hookspecs)
        self.failures: list[LoadFailure] = []
        self._provider: dict[int, tuple[Distribution, str]] = {}
        own = _own_distribution()
        for module_name in dict.fromkeys(builtins):  # a name given twice registers once
            self._register(importlib.import_module(module_name), own, module_name)
        for plugin in extra_plugins:
            self._register(plugin, own, getattr(plugin, "__name__", repr(plugin)))
        if load_entry_points:
            self._load_entry_points(strict)
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"a plugin implements a hook deepeyes does not define: {exc}") from exc
        self._cache: dict[str, dict[str, ComponentInfo]] = {}
        self._found = {kind: self._check_contracts(kind, strict) for kind in KINDS}

    def _register(self, plugin: Any, distribution: Distribution, name: str) -> None:
        wanted = getattr(plugin, "DEEPEYES_HOOK_API", None)
        if wanted is not None and wanted > hookspecs.HOOK_API_VERSION:
            raise PluginError(
                f"plugin {name} from {distribution} needs deepeyes hook API {wanted}; this deepeyes "
                f"has {hookspecs.HOOK_API_VERSION}: upgrade deepeyes"
            )
        self.pm.register(plugin, name=name)
        self._provider[id(plugin)] = (distribution, name)

    def _check_contracts(self, kind: str, strict: bool) -> list[ComponentInfo]:
        """Every component of ``kind`` that meets its protocol. One that does not is an error
        naming the plugin, the class and what is missing: raised for a built-in or in strict mode,
        else reported in :attr:`failures` and left out."""
        found = []
        for impl in getattr(self.pm.hook, _HOOKS[kind]).get_hookimpls():
            distribution, plugin_name = self._provider[id(impl.plugin)]
            for cls in impl.function() or ():
                problems = contract_problems(kind, cls)
                if not problems:
                    found.append(ComponentInfo(kind, cls.name, cls, distribution, plugin_name))
                    continue
                label = getattr(cls, "__qualname__", repr(cls))
                message = f"{kind.replace('_', ' ')} {label} from plugin {plugin_name} ({distribution}) " + "; ".join(problems)
                if strict or distribution.name == _own_distribution().name:
                    raise PluginError(message)
                log.warning("skipping %s", message)
                self.failures.append(LoadFailure(f"{plugin_name}: {label}", distribution, "; ".join(problems)))
        return found

    def _load_entry_points(self, strict: bool) -> None:
        allowed = os.environ.get("DEEPEYES_LOAD_PLUGINS")
        allow = None if allowed is None else {n.strip() for n in allowed.split(",") if n.strip()}
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = Distribution(ep.dist.name, ep.dist.version) if ep.dist else Distribution("?", "?")
            if allow is not None and dist.name not in allow:
                continue
            if self.pm.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
                self._register(plugin, dist, ep.name)
            except Exception as exc:  # a broken third-party plugin must not break the rest
                failure = LoadFailure(f"{ep.name} = {ep.value}", dist, f"{type(exc).__name__}: {exc}")
                if strict:
                    raise PluginError(
                        f"plugin {failure.entry_point} from {dist} failed to load: {failure.error}"
                    ) from exc
                log.warning("skipping plugin %s from %s: %s", failure.entry_point, dist, failure.error)
                self.failures.append(failure)

    @property
    def hook(self):
        """The hook relay, for run events: ``manager.hook.deepeyes_stage_started(...)``."""
        return self.pm.hook

    def components(self, kind: str) -> dict[str, ComponentInfo]:
        """Every component of ``kind`` by name. Two with one name: a PluginError naming every provider."""
        if kind in self._cache:
            return self._cache[kind]
        if kind not in _HOOKS:
            raise ValueError(f"unknown component kind {kind!r}; kinds: {', '.join(KINDS)}")
        found: dict[str, list[ComponentInfo]] = {}
        for info in self._found[kind]:
            found.setdefault(info.name, []).append(info)
        clashes = {name: infos for name, infos in found.items() if len(infos) > 1}
        if clashes:
            lines = [
                f"{kind} {name!r} is provided by "
                + " and ".join(f"{i.distribution} (plugin {i.plugin})" for i in infos)
                for name, infos in clashes.items()
            ]
            raise PluginError("; ".join(lines) + ". Uninstall one, or rename its component.")
        self._cache[kind] = {name: infos[0] for name, infos in found.items()}
        return self._cache[kind]

    def get(self, kind: str, name: str) -> ComponentInfo:
        available = self.components(kind)
        if name not in available:
            known = ", ".join(sorted(available)) or "none"
            raise UnknownComponentError(
                f"no {kind.replace('_', ' ')} named {name!r}; available: {known}"
            )
        return available[name]

    def build(self, kind: str, name: str, options: Mapping[str, Any] | None = None) -> Any:
        """Instantiate a component with options structured into its ``Options`` class.

        A wrong, unknown or missing option is a ConfigError naming the component and the field.
        """
        info = self.get(kind, name)
        options_cls = getattr(info.cls, "Options", NoOptions)
        try:
            structured = _options_converter.structure(dict(options or {}), options_cls)
        except cattrs.BaseValidationError as exc:
            problems = "; ".join(cattrs.transform_error(exc, path="options"))
            known = ", ".join(f.name for f in attrs.fields(options_cls)) or "none"
            raise ConfigError(f"{kind} {name!r}: {problems} (its options: {known})") from exc
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{kind} {name!r}: {exc}") from exc
        return info.cls(structured)

    def plugins(self) -> list[PluginInfo]:
        """Every registered plugin with the hooks it implements, in registration order."""
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            hooks = tuple(sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or ()))
            infos.append(PluginInfo(name, self._provider[id(plugin)][0], hooks))
        return infos

    def tools(self) -> list[Tool]:
        return [tool for tools in self.pm.hook.deepeyes_tools() for tool in tools]

    def describe(self) -> list[ComponentInfo]:
        """Every component of every kind, for ``deepeyes plugins``."""
        return [info for kind in KINDS for _, info in sorted(self.components(kind).items())]


_default: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide manager, loaded on first use."""
    global _default
    if _default is None:
        _default = PluginManager()
    return _default


def reset_plugin_manager() -> None:
    """Forget the process-wide manager (tests, or after installing a plugin)."""
    global _default
    _default = None
