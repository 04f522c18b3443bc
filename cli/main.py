"""The ``landing`` command: one entry point for planning, simulating, demoing and operating a pipeline."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="landing",
    help="Ordered file ingestion on AWS: preview the stack, simulate capacity, run it locally, operate it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Ordered file ingestion on AWS (S3 -> EventBridge -> SQS -> Lambda -> SQS FIFO -> Glue).

    Nothing here needs an AWS account except status, redrive and skip, which use your credentials.
    """


from landing_pipeline.cli import backfill as backfill_cmd  # noqa: E402  (subcommands register themselves on the app above)
from landing_pipeline.cli import config_cmd  # noqa: E402
from landing_pipeline.cli import demo as demo_cmd  # noqa: E402
from landing_pipeline.cli import history as history_cmd  # noqa: E402
from landing_pipeline.cli import ops as ops_cmd  # noqa: E402
from landing_pipeline.cli import plan as plan_cmd  # noqa: E402
from landing_pipeline.cli import serve as serve_cmd  # noqa: E402
from landing_pipeline.cli import simulate as simulate_cmd  # noqa: E402
from landing_pipeline.cli.errors import install as install_error_handler  # noqa: E402
from landing_pipeline.cli.help_text import reflow_all  # noqa: E402

config_cmd.register(app)
plan_cmd.register(app)
demo_cmd.register(app)
serve_cmd.register(app)
ops_cmd.register(app)
backfill_cmd.register(app)
history_cmd.register(app)
simulate_cmd.register(app)
reflow_all(app)
install_error_handler(app)  # last: one handler around every command registered above


def main() -> None:
    """Run the command (the ``landing`` script goes through ``cli/entry.py``, which checks the extra first)."""
    app()


if __name__ == "__main__":
    main()
