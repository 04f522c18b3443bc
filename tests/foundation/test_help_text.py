"""Command help reflowed for the terminal (cli/help_text.py): paragraphs join, examples and bullets stay."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

from landing_pipeline.cli.help_text import reflow


def test_wrapped_lines_join_and_examples_and_bullets_keep_their_lines() -> None:
    text = """First line.

    Runs the program and prints every
    resource with its settings.

    Examples:
      landing plan --stack prod
      landing plan --stack dev --json plan.json

    - a bullet that goes on
      and on
    - another
    continued here
    """
    assert reflow(text) == (
        "First line.\n\nRuns the program and prints every resource with its settings.\n\n"
        "Examples:\n  landing plan --stack prod\n  landing plan --stack dev --json plan.json\n\n"
        "- a bullet that goes on\n  and on\n- another continued here")


def test_help_in_an_80_column_terminal_has_no_ragged_half_lines() -> None:
    """Every command's prose help wraps to the terminal, not at the source's 120 columns and again at 80."""
    env = {**os.environ, "COLUMNS": "80", "TERM": "xterm"}
    for command in (["demo"], ["plan"], ["status"], ["serve"], ["simulate"], ["simulate", "sweep"]):
        done = subprocess.run([sys.executable, "-m", "landing_pipeline.cli.main", *command, "--help"],
                              capture_output=True, text=True, env=env, timeout=120, check=True)
        prose = [line.rstrip() for line in done.stdout.split("╭")[0].splitlines()]  # above the options panel
        ragged = [line for line, after in itertools.pairwise(prose)  # a short line inside a paragraph
                  if 0 < len(line) < 50 and after.strip() and not after.startswith("   ") and not line.endswith(":")]
        assert not ragged, (command, ragged)
