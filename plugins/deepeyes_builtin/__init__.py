"""deepeyes' built-in plugin: the guide's defaults, written as a third party would write them."""

from deepeyes_core import hookimpl

from .arguments import SchemaArguments
from .backends import DryRunBackend
from .classifiers import DistinctToolsClassifier, SequenceLengthClassifier
from .describers import TemplateDescriber
from .exporters import JsonlExporter
from .sources import BaselineSource
from .splitters import StratifiedSplitter
from .tools import builtin_tools


@hookimpl
def deepeyes_trajectory_sources():
    return [BaselineSource]


@hookimpl
def deepeyes_task_describers():
    return [TemplateDescriber]


@hookimpl
def deepeyes_difficulty_classifiers():
    return [SequenceLengthClassifier, DistinctToolsClassifier]


@hookimpl
def deepeyes_splitters():
    return [StratifiedSplitter]


@hookimpl
def deepeyes_exporters():
    return [JsonlExporter]


@hookimpl
def deepeyes_training_backends():
    return [DryRunBackend]


@hookimpl
def deepeyes_tools():
    return builtin_tools()


@hookimpl
def deepeyes_argument_generators():
    return [SchemaArguments]
