"""What every subcommand shares: reading the stack's spec and turning configuration errors into clear exits."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from landing_pipeline.runtime.errors import SpecError
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.runtime.spec_loader import StackFileError, load_stack, load_stack_file

err_console = Console(stderr=True)

CONFIG_ERROR_EXIT = 2


def load_spec_or_exit(stack: str | None, spec_file: Path | None = None,
                      project_dir: Path | None = None) -> PipelineSpec:
    """The spec of ``--stack`` or ``--spec``; on bad configuration print every problem and exit 2."""
    try:
        if spec_file is not None:
            return load_stack_file(spec_file, project_dir)
        return load_stack(stack or "dev", project_dir)
    except SpecError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(CONFIG_ERROR_EXIT) from None
    except StackFileError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(CONFIG_ERROR_EXIT) from None
