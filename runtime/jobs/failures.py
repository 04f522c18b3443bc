"""Turning Spark's failures into one clear line: which file, read or written, and what to do.

A JVM error arrives as a page of stack trace; Glue shows the run's error message to operators and the
completion handler stores it in the ledger, so the message must say in one sentence what went wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

READ_FAILURE_MARKERS = (
    "Path does not exist", "PATH_NOT_FOUND", "FileNotFound", "NoSuchKey", "is not a Parquet file",
    "CANNOT_READ_FILE_FOOTER", "Unexpected end of input stream", "Not in GZIP format", "incorrect header check",
    "EOFException", "invalid stored block", "ParquetDecodingException", "MalformedInputException",
)


class IngestError(RuntimeError):
    """The run cannot complete; the message names the file and what to do. Glue shows it as the run's error."""


def cause(exc: BaseException) -> str:
    """The most specific line of a JVM error, not its page of stack trace."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    causes = [line.removeprefix("Caused by: ") for line in lines if line.startswith("Caused by:")]
    if causes:
        return causes[-1]
    skip = ("An error occurred", ": org.apache.spark.SparkException: Job aborted", "at ")
    return next((line for line in lines if not line.startswith(skip)), type(exc).__name__)


@contextmanager
def spark_failures(input_uri: str, fmt: str, output_uri: str = "") -> Iterator[None]:
    """Raise ``IngestError`` for a Spark failure while reading ``input_uri`` (and writing ``output_uri``)."""
    from py4j.protocol import Py4JJavaError  # type: ignore[import-untyped]
    from pyspark.errors.exceptions.captured import CapturedException

    try:
        yield
    except (Py4JJavaError, CapturedException) as exc:
        reason = cause(exc)
        full = str(exc)
        if not output_uri or input_uri in full or any(marker in full for marker in READ_FAILURE_MARKERS):
            raise IngestError(
                f"cannot read {input_uri} as {fmt} (chosen by its extension): {reason}. The file is missing, "
                "truncated or not in that format; fix or re-upload it, then redrive it") from exc
        raise IngestError(f"cannot write {output_uri} while processing {input_uri}: {reason}. Check the job "
                          "role's access to the output bucket and its free space, then redrive the file") from exc
