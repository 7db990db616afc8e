"""The fixtures deepeyes ships for plugin authors, used as a plugin uses them: the example plugin's
own test suite run by pytest in a subprocess, with the fixtures found through deepeyes' pytest11
entry point (nothing imported by hand)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "deepeyes-plugin-example"


def test_the_example_plugin_tests_itself_with_the_shipped_fixtures():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(EXAMPLE), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_the_sample_log_is_small_and_varied(deepeyes_sample_log):
    lines = deepeyes_sample_log.read_text().splitlines()
    assert 40 <= len(lines) <= 160
    assert any('"status":"failure"' in line for line in lines)
