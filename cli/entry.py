"""The ``landing`` executable: check the ``cli`` extra is installed before importing the command.

The base install (what ``pulumi up`` needs) has no typer or rich; without this, ``landing`` would end in a
traceback about ``typer``. Only the standard library and ``runtime.errors`` are imported before the check.
"""

from __future__ import annotations

import sys

from landing_pipeline.runtime.errors import missing_extra


def main() -> None:
    try:
        from landing_pipeline.cli.main import app
    except ModuleNotFoundError as error:
        extra = missing_extra(error, "the landing command")
        if extra is None:
            raise
        print(f"error: {extra}", file=sys.stderr)
        raise SystemExit(2) from None
    app()


if __name__ == "__main__":
    main()
