"""deepeyes: logged tool invocations of LLM agents -> cold-start SFT data, training, honest evaluation.

"The guide" in these docstrings is the DeepEyesV2 Phase 2 cold-start SFT integration guide that
deepeyes implements: its class names, methods, defaults and output shapes (``TrajectoryCollector``,
``SFTDataset``, ``ColdStartTrainer``, ``run_deepeyesv2_sft``, the ``sft_*.jsonl`` record) are this
package's public API.

Everything a user or a plugin needs is importable from here; plugins import nothing else.
``conversations`` holds the helpers that sources of logged chat conversations share.
"""

from . import conversations

from .baseline import (
    BaselineTracker,
    invocation_statistics,
    parse_invocation,
    read_invocations,
    run_deepeyesv2_baseline,
)
from .collector import ToolCatalogue, TrajectoryCollector
from .components import (
    Component,
    DifficultyClassifier,
    EpochMetrics,
    Exporter,
    ModelRole,
    NoOptions,
    RecordExporter,
    SourceItem,
    SplitRatios,
    Splitter,
    TaskDescriber,
    Tool,
    TrainingBackend,
    TrainingRun,
    TrainingSettings,
    TrajectorySource,
)
from .dataset import SFTDataset, checked_records, split_file_name, split_statistics, write_split_jsonl
from .dedup import dedup_key, deduplicate, normalise_arguments
from .leakage import cross_split_near_duplicates
from .redaction import RedactionOptions, Redactor
from .errors import (
    ConfigError,
    DatasetError,
    DeepeyesError,
    InputError,
    LeakError,
    MissingExtraError,
    OutputError,
    PluginError,
    RecordRejected,
    RunFolderBusy,
    RunFolderInvalid,
    UnknownComponentError,
)
from .evaluation import (
    MatchOptions,
    arguments_match,
    check_no_leak,
    evaluate_improvement,
    parse_invocations,
    score_answer,
    score_model,
)
from .events import STAGES, RunFinished, RunInfo, StageFinished, StageStarted
from .hookspecs import HOOK_API_VERSION, hookimpl
from .io import (
    RejectsLog,
    atomic_json,
    atomic_jsonl,
    atomic_write,
    expand_paths,
    read_jsonl,
    read_records,
    record_timestamp,
)
from .config import RunConfig, load_config
from .pipeline import DEFAULT_COMPONENTS, Pipeline
from .plugins import PluginManager, contract_problems, get_plugin_manager, reset_plugin_manager
from .records import (
    DEFAULT_PROMPT_LAYOUT,
    DIFFICULTIES,
    PROMPT_LAYOUTS,
    SPLITS,
    SYSTEM_PROMPT,
    Location,
    Rejection,
    ToolCall,
    ToolInvocation,
    ToolSpec,
    ToolStatus,
    TrainingExample,
    Trajectory,
    converter,
)
from .runfolder import Manifest, RunFolder, verify_run_folder
from .runner import run
from .settings import DEFAULT_MODEL_ID, CollectorSettings, DatasetSettings, InvalidSetting, TrainerSettings
from .trainer import ColdStartTrainer, RunStatus, run_deepeyesv2_sft

__all__ = [
    "arguments_match",
    "atomic_json",
    "atomic_jsonl",
    "atomic_write",
    "BaselineTracker",
    "check_no_leak",
    "checked_records",
    "ColdStartTrainer",
    "CollectorSettings",
    "Component",
    "ConfigError",
    "contract_problems",
    "conversations",
    "converter",
    "cross_split_near_duplicates",
    "DatasetError",
    "DatasetSettings",
    "dedup_key",
    "deduplicate",
    "DeepeyesError",
    "DEFAULT_COMPONENTS",
    "DEFAULT_MODEL_ID",
    "DEFAULT_PROMPT_LAYOUT",
    "DIFFICULTIES",
    "DifficultyClassifier",
    "EpochMetrics",
    "evaluate_improvement",
    "expand_paths",
    "Exporter",
    "get_plugin_manager",
    "HOOK_API_VERSION",
    "hookimpl",
    "InputError",
    "InvalidSetting",
    "invocation_statistics",
    "LeakError",
    "load_config",
    "Location",
    "Manifest",
    "MatchOptions",
    "MissingExtraError",
    "ModelRole",
    "NoOptions",
    "normalise_arguments",
    "OutputError",
    "parse_invocation",
    "parse_invocations",
    "Pipeline",
    "PluginError",
    "PluginManager",
    "PROMPT_LAYOUTS",
    "read_invocations",
    "read_jsonl",
    "read_records",
    "record_timestamp",
    "RecordExporter",
    "RecordRejected",
    "RedactionOptions",
    "Redactor",
    "Rejection",
    "RejectsLog",
    "reset_plugin_manager",
    "run",
    "run_deepeyesv2_baseline",
    "run_deepeyesv2_sft",
    "RunConfig",
    "RunFinished",
    "RunFolder",
    "RunFolderBusy",
    "RunFolderInvalid",
    "RunInfo",
    "RunStatus",
    "score_answer",
    "score_model",
    "SFTDataset",
    "SourceItem",
    "split_file_name",
    "split_statistics",
    "SplitRatios",
    "SPLITS",
    "Splitter",
    "StageFinished",
    "STAGES",
    "StageStarted",
    "SYSTEM_PROMPT",
    "TaskDescriber",
    "Tool",
    "ToolCall",
    "ToolCatalogue",
    "ToolInvocation",
    "ToolSpec",
    "ToolStatus",
    "TrainerSettings",
    "TrainingBackend",
    "TrainingExample",
    "TrainingRun",
    "TrainingSettings",
    "Trajectory",
    "TrajectoryCollector",
    "TrajectorySource",
    "UnknownComponentError",
    "verify_run_folder",
    "write_split_jsonl",
]
