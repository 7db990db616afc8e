"""Typed errors. Each names what went wrong and where, so a user can fix it without reading our code."""

from __future__ import annotations


class DeepeyesError(Exception):
    """Base class of every error deepeyes raises on purpose."""


class ConfigError(DeepeyesError):
    """A configuration file or a component's options are wrong."""


class PluginError(DeepeyesError):
    """A plugin could not be loaded, or two plugins claim the same component."""


class UnknownComponentError(PluginError):
    """No component of that kind has that name."""


class MissingExtraError(PluginError):
    """A component needs an optional dependency that is not installed."""

    def __init__(self, component: str, extra: str, missing: str):
        super().__init__(
            f"{component} needs the optional dependency {missing!r}: "
            f"pip install 'deepeyes[{extra}]'"
        )
        self.extra = extra


class InputError(DeepeyesError):
    """An input file or record cannot be used. The message names file, line and field."""


class RecordRejected(DeepeyesError):
    """Raised by a source's parse function when a record cannot be used; ``read_records`` turns
    it into the record's Rejection with this reason and detail."""

    def __init__(self, reason: str, detail: str):
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail

    @classmethod
    def malformed(cls, detail: str) -> RecordRejected:
        """The rejection of a record that is not of the shape the source reads."""
        return cls("malformed record", detail)


class DatasetError(DeepeyesError):
    """A dataset cannot be split or exported as asked (ratios, sizes)."""


class LeakError(DeepeyesError):
    """An evaluation prompt contains its own answer."""


class EngineError(DeepeyesError):
    """The engine running a pipeline failed outside any component: a Ray task whose workers died
    more often than ``[engine] max_retries`` allows."""


class OutputError(DeepeyesError):
    """An output file or folder cannot be written. The message names the path and what is wrong
    (``output_dir /x: is a file``, ``... no space left on device while writing sft_val.jsonl``).

    ``path`` is the file or folder concerned; ``reason`` the bare problem (``permission denied``).
    """

    def __init__(self, message: str, path: object = None, reason: str = ""):
        super().__init__(message)
        self.path = path
        self.reason = reason


class RunFolderBusy(OutputError):
    """Another run holds the output folder's lock."""


class RunFolderInvalid(InputError):
    """A run folder does not hold one finished run: no manifest, or files that differ from it."""
