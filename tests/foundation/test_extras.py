"""A command whose extra is missing names the extra to install, in one line, instead of a traceback.

Each case runs the real ``landing`` script in a subprocess whose ``sitecustomize`` (on ``PYTHONPATH``) makes
the named modules unimportable, as they are in an install without that extra.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LANDING = Path(sys.executable).with_name("landing")

BLOCKER = '''
import importlib.abc, os, sys

BLOCKED = set(filter(None, os.environ.get("LANDING_TEST_BLOCK", "").split(",")))


class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _Blocker())
'''


def _landing(tmp_path: Path, blocked: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "LANDING_TEST_BLOCK": blocked, "COLUMNS": "300"}
    return subprocess.run([str(LANDING), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.mark.parametrize(("blocked", "args", "extra"), [
    ("typer", ["--help"], "cli"),
    ("rich", ["config"], "cli"),
    ("moto", ["demo", "--engine", "sleep"], "local"),
    ("simpy", ["simulate", "--stack", "dev", "--scenario", "examples/seed-card.yaml"], "simulate"),
])
def test_a_missing_extra_is_named_in_one_line(tmp_path: Path, blocked: str, args: list[str], extra: str) -> None:
    result = _landing(tmp_path, blocked, *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and f"pip install 'landing-pipeline[{extra}]'" in lines[0]
    assert f"no module named '{blocked}'" in lines[0]
    assert "Traceback" not in result.stderr


def test_the_blocker_blocks_nothing_else(tmp_path: Path) -> None:
    """The same subprocess with nothing blocked runs the command, so the cases above test the extras."""
    result = _landing(tmp_path, "", "config", "--stack", "dev")
    assert result.returncode == 0, result.stderr
    assert "configuration is valid" in result.stdout
