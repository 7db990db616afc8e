"""deepeyes: logged tool invocations of LLM agents -> cold-start SFT data, training, honest evaluation.

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
    PluginError,
    RecordRejected,
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
from .hookspecs import hookimpl
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
from .plugins import PluginManager, get_plugin_manager, reset_plugin_manager
from .records import (
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
from .trainer import DEFAULT_MODEL_ID, ColdStartTrainer, run_deepeyesv2_sft

__all__ = [name for name in dir() if not name.startswith("_")]
