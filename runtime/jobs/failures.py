"""Turning Spark's failures into one clear line: which file, read or written, and what to do.

A JVM error arrives as a page of stack trace; Glue shows the run's error message to operators and the
completion handler stores it in the ledger, so the message must say in one sentence what went wrong.

A missing path is not proof that the input is gone: the path Spark could not find may be a snapshot
version or an output folder. Only when a check of the input itself (``input_gone``: HeadObject, or the
local file) says so does the message start with ``input deleted:``, which the completion path takes as
final (runtime/outcomes.py); any other missing path is named as what it is, and the run is retried.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from landing_pipeline.runtime.errors import OperationalError

READ_FAILURE_MARKERS = (
    "Path does not exist", "PATH_NOT_FOUND", "FileNotFound", "NoSuchKey", "is not a Parquet file",
    "CANNOT_READ_FILE_FOOTER", "Unexpected end of input stream", "Not in GZIP format", "incorrect header check",
    "EOFException", "invalid stored block", "ParquetDecodingException", "MalformedInputException",
)

NOT_FOUND_MARKERS = ("Path does not exist", "PATH_NOT_FOUND", "FileNotFound", "NoSuchKey", "NoSuchVersion")
_MISSING_PATH = re.compile(r"(?:Path does not exist|FileNotFoundException|No such file or directory):?\s*(\S+)")


class IngestError(OperationalError):
    """The run cannot complete; the message names the file and what to do. Glue shows it as the run's error."""


def cause(exc: BaseException) -> str:
    """The most specific line of a JVM error, not its page of stack trace."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    causes = [line.removeprefix("Caused by: ") for line in lines if line.startswith("Caused by:")]
    if causes:
        return causes[-1]
    skip = ("An error occurred", ": org.apache.spark.SparkException: Job aborted", "at ")
    return next((line for line in lines if not line.startswith(skip)), type(exc).__name__)


def missing_path(error: str) -> str | None:
    """The path a "does not exist" error names (``file:/x/v000001``), without Spark's closing period."""
    match = _MISSING_PATH.search(error)
    return match.group(1).rstrip(".,;") if match else None


@contextmanager
def spark_failures(input_uri: str, fmt: str, output_uri: str = "",
                   input_gone: Callable[[], str | None] | None = None) -> Iterator[None]:
    """Raise ``IngestError`` for a Spark failure while reading ``input_uri`` (and writing ``output_uri``).

    ``input_gone`` checks the input itself when the failure is a missing path: its message (starting with
    ``input deleted:``) replaces Spark's; None means the input is there, so the missing path is another one.
    """
    from py4j.protocol import Py4JJavaError  # type: ignore[import-untyped]
    from pyspark.errors.exceptions.captured import CapturedException

    try:
        yield
    except (Py4JJavaError, CapturedException) as exc:
        reason = cause(exc)
        full = str(exc)
        if any(marker in full for marker in NOT_FOUND_MARKERS):
            gone = input_gone() if input_gone is not None else None
            if gone:
                raise IngestError(gone) from exc
            missing = missing_path(full)
            if input_gone is not None and missing:
                raise IngestError(
                    f"{missing} does not exist (needed while processing {input_uri}, not the input itself): "
                    f"{reason}. Restore it or find what removed it, then redrive the file") from exc
        if not output_uri or input_uri in full or any(marker in full for marker in READ_FAILURE_MARKERS):
            raise IngestError(
                f"cannot read {input_uri} as {fmt} (chosen by its extension): {reason}. The file is missing, "
                "truncated or not in that format; fix or re-upload it, then redrive it") from exc
        raise IngestError(f"cannot write {output_uri} while processing {input_uri}: {reason}. Check the job "
                          "role's access to the output bucket and its free space, then redrive the file") from exc
