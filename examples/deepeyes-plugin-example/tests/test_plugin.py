"""How a plugin tests itself with the fixtures deepeyes ships (loaded by pytest automatically once
deepeyes is installed): a fresh plugin manager holding this plugin, a small sample log, a run."""

import attrs
import deepeyes_plugin_example
import pytest

from deepeyes_core import ConfigError


def test_the_classifier_is_found_by_name(deepeyes_plugins):
    plugins = deepeyes_plugins(deepeyes_plugin_example)
    info = plugins.get("difficulty_classifier", "argument-count")
    assert info.option_defaults() == {"easy_max": 2, "hard_min": 8}


def test_a_wrong_option_is_a_clear_error(deepeyes_plugins):
    plugins = deepeyes_plugins(deepeyes_plugin_example)
    with pytest.raises(ConfigError, match="easy_maximum"):
        plugins.build("difficulty_classifier", "argument-count", {"easy_maximum": 1})


def test_a_run_labels_examples_by_argument_count(deepeyes_plugins, deepeyes_run):
    plugins = deepeyes_plugins(deepeyes_plugin_example)
    options = {"easy_max": 1, "hard_min": 4}
    result = deepeyes_run(plugins, classifier={"name": "argument-count", **options})
    assert result["status"] == "completed"
    labels = {split: result["dataset_stats"][split]["difficulty_distribution"] for split in ("train", "val", "test")}
    assert sum(sum(counts.values()) for counts in labels.values()) == result["training_examples_count"]
    # Sample calls have 1 or 2 arguments: a session of 3 or more calls has at least 4 values.
    classifier = plugins.build("difficulty_classifier", "argument-count", options)
    assert attrs.asdict(classifier.options) == options
    assert sum(counts["hard"] for counts in labels.values()) > 0
