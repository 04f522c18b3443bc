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
def spark() -> Iterator[Any]:
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
    yield session
    session.stop()


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
