"""What every subcommand shares: reading the stack's spec (errors go to the one handler in ``cli/errors.py``)."""

from __future__ import annotations

from pathlib import Path

from landing_pipeline.cli.errors import EXIT_CODES, err_console, warn
from landing_pipeline.runtime.errors import ConfigurationError
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.runtime.spec_loader import find_project_dir, load_stack, load_stack_file, stack_file_warnings
from landing_pipeline.runtime.spec_validation import spec_warnings

__all__ = ["CONFIG_ERROR_EXIT", "err_console", "load_spec_or_exit", "stack_path"]

CONFIG_ERROR_EXIT = EXIT_CODES[ConfigurationError]


def stack_path(stack: str | None, spec_file: Path | None = None, project_dir: Path | None = None) -> Path:
    """The file ``--spec`` names, else ``Pulumi.<stack>.yaml`` of the project."""
    return spec_file if spec_file is not None else find_project_dir(project_dir) / f"Pulumi.{stack or 'dev'}.yaml"


def load_spec_or_exit(stack: str | None, spec_file: Path | None = None,
                      project_dir: Path | None = None) -> PipelineSpec:
    """The validated spec of ``--stack`` or ``--spec``, after printing the stack file's warnings.

    A bad configuration raises ``ConfigurationError``; the handler every command runs under prints every
    problem and exits 2.
    """
    spec = load_stack_file(spec_file, project_dir) if spec_file is not None else load_stack(stack or "dev",
                                                                                             project_dir)
    for message in [*stack_file_warnings(stack_path(stack, spec_file, project_dir)), *spec_warnings(spec)]:
        warn(message)
    return spec
