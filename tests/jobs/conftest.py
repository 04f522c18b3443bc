"""One local SparkSession for every job test, and a helper that runs the job the way the dispatcher starts it.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.jobs.helpers import JobRun, job_argv


def _java_problem() -> str | None:
    java = shutil.which("java")
    if java is None:
        return "Java is not installed (local PySpark needs Java 17: apt-get install openjdk-17-jre-headless)"
    try:
        subprocess.run([java, "-version"], capture_output=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"java -version failed ({exc}); local PySpark needs a working Java 17"
    return None


@pytest.fixture(scope="session")
def _spark_sessions() -> Iterator[list[Any]]:
    """The sessions handed out, stopped at the end."""
    sessions: list[Any] = []
    yield sessions
    for session in sessions:
        session.stop()


@pytest.fixture(scope="module")
def spark(_spark_sessions: list[Any]) -> Any:
    """The local SparkSession, live for this module. Usually the one session of the whole run; but under
    pytest-xdist a worker may run an emulator test in between, whose executor stops the process's session
    when it closes (``getOrCreate`` handed it this one), so each module asks again and gets a new one then."""
    problem = _java_problem()
    if problem:
        pytest.skip(problem)
    pyspark_sql = pytest.importorskip("pyspark.sql", reason="pyspark is not installed (pip install -e '.[local]')")
    session = (pyspark_sql.SparkSession.builder.master("local[2]").appName("landing-job-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.default.parallelism", "2")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    if all(session is not known for known in _spark_sessions):
        _spark_sessions.append(session)
    return session


@pytest.fixture
def run_job(spark: Any, tmp_path: Path) -> Any:
    """``run_job(input_path, file_id, **job_argv options)`` -> JobRun, all runs of a test sharing one root."""
    from landing_pipeline.runtime.jobs import ingest_job

    def _run(input_path: Path, file_id: str = "f1", **options: Any) -> JobRun:
        root = options.pop("root", tmp_path / "out")
        result = JobRun(root, file_id)
        result.manifest = ingest_job.main(job_argv(input_path, root, file_id, **options), spark=spark)
        return result

    return _run
