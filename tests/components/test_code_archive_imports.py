"""The deployed archives import on their own: no checkout, no Pulumi, no installed landing-pipeline.

Each archive is written to a real zip and imported by a fresh ``python -I -S`` whose path holds only
what AWS provides: for Lambda, the extracted zip (``/var/task``), boto3 and its dependencies (the
runtime's) and Powertools (the AWS-managed layer ``code_archive.powertools_layer_arn`` names); for
Glue, the library zip itself (``--extra-py-files`` is put on the path as a zip), boto3 and PySpark.
A module that reached outside ``landing_pipeline.runtime`` (``landing_pipeline.components``, Pulumi,
the CLI) or a file the archive lists wrongly fails here instead of at the first invocation in AWS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pulumi

from landing_pipeline.components.code_archive import archive_files, code_archive, job_library_archive
from landing_pipeline.components.processing_job import SCRIPT_SOURCE
from landing_pipeline.runtime.contract import COMPLETION_HANDLER, DISPATCHER_HANDLER, ROUTER_HANDLER

SITE = Path(boto3.__file__).resolve().parent.parent
LAMBDA_RUNTIME_PACKAGES = ["boto3", "botocore", "jmespath", "dateutil", "urllib3", "s3transfer", "six.py"]
"""What the python3.11 Lambda runtime ships (boto3 and its dependencies), nothing of this project."""
POWERTOOLS_LAYER = ["aws_lambda_powertools", "typing_extensions.py"]
GLUE_PACKAGES = [*LAMBDA_RUNTIME_PACKAGES, "pyspark", "py4j"]


def write_zip(archive: pulumi.AssetArchive, path: Path) -> Path:
    """The zip Pulumi would upload for ``archive`` (string and file assets, as these archives hold)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, asset in archive.assets.items():
            if isinstance(asset, pulumi.StringAsset):
                zipped.writestr(name, asset.text)
            elif isinstance(asset, pulumi.FileAsset):
                zipped.write(str(asset.path), name)
            else:
                raise AssertionError(f"unexpected asset {type(asset).__name__} at {name}")
    return path


def only(packages: list[str], folder: Path) -> Path:
    """A folder holding links to just these site-packages entries (a Lambda layer, the runtime's boto3)."""
    folder.mkdir()
    for name in packages:
        source = SITE / name
        assert source.exists(), f"{name} is not installed in {SITE}"
        (folder / name).symlink_to(source, target_is_directory=source.is_dir())
    return folder


CHECK = r'''
import importlib, json, sys
sys.path.extend(json.loads(sys.argv[1]))
for forbidden in ("pulumi", "pulumi_aws", "yaml", "typer", "landing_pipeline.components"):
    try:
        importlib.import_module(forbidden)
    except ImportError:
        pass
    else:
        raise SystemExit(f"{forbidden} is importable: the isolation leaks")
found = {}
for handler in json.loads(sys.argv[2]):
    module_name, _, attribute = handler.rpartition(".")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute)), handler
    found[handler] = module.__file__
print(json.dumps({"files": found, "pulumi_loaded": any(m.startswith("pulumi") for m in sys.modules)}))
'''


def _isolated(path: list[Path], targets: list[str]) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-I", "-S", "-c", CHECK, json.dumps([str(p) for p in path]),
                           json.dumps(targets)], capture_output=True, text=True, timeout=180, check=False, cwd="/")
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_lambda_archive_resolves_every_handler_with_only_boto3_and_the_powertools_layer(tmp_path: Path) -> None:
    task = tmp_path / "var-task"
    with zipfile.ZipFile(write_zip(code_archive(), tmp_path / "code.zip")) as zipped:
        zipped.extractall(task)  # Lambda runs the extracted zip from /var/task
    handlers = [ROUTER_HANDLER, DISPATCHER_HANDLER, COMPLETION_HANDLER]
    result = _isolated([task, only(LAMBDA_RUNTIME_PACKAGES, tmp_path / "runtime"),
                        only(POWERTOOLS_LAYER, tmp_path / "layer")], handlers)
    files = result["files"]
    assert isinstance(files, dict) and set(files) == set(handlers)
    assert all(str(file).startswith(str(task)) for file in files.values()), files
    assert result["pulumi_loaded"] is False


def test_the_lambda_archive_fails_without_the_powertools_layer(tmp_path: Path) -> None:
    """The check above is not vacuous: the handlers do import Powertools, which only the layer provides."""
    task = tmp_path / "var-task"
    with zipfile.ZipFile(write_zip(code_archive(), tmp_path / "code.zip")) as zipped:
        zipped.extractall(task)
    done = subprocess.run([sys.executable, "-I", "-S", "-c", CHECK,
                           json.dumps([str(task), str(only(LAMBDA_RUNTIME_PACKAGES, tmp_path / "runtime"))]),
                           json.dumps([ROUTER_HANDLER])], capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode != 0 and "aws_lambda_powertools" in done.stderr


def _import_log(task: Path, tmp_path: Path, module: str) -> str:
    """What ``python -v`` says while importing ``module`` from the extracted archive, writing no bytecode (as on
    Lambda's read-only /var/task)."""
    code = f"import json, sys; sys.path[:0] = json.loads(sys.argv[1]); import {module}; print({module}.__file__)"
    path = [str(task), str(only(LAMBDA_RUNTIME_PACKAGES, tmp_path / "runtime")),
            str(only(POWERTOOLS_LAYER, tmp_path / "layer"))]
    done = subprocess.run([sys.executable, "-I", "-S", "-B", "-v", "-c", code, json.dumps(path)],
                          capture_output=True, text=True, timeout=180, check=False, cwd="/")
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr


def test_a_cold_start_loads_the_runtime_from_the_archive_bytecode_not_by_compiling(tmp_path: Path) -> None:
    task = tmp_path / "var-task"
    with zipfile.ZipFile(write_zip(code_archive(), tmp_path / "code.zip")) as zipped:
        zipped.extractall(task)
    log = _import_log(task, tmp_path, "landing_pipeline.runtime.dispatcher")
    runtime = str(task / "landing_pipeline" / "runtime")
    from_bytecode = [line for line in log.splitlines() if line.startswith(f"# code object from '{runtime}")]
    compiled = [line for line in log.splitlines() if line.startswith(f"# code object from {runtime}")]
    assert len(from_bytecode) >= 10 and not compiled, compiled


def test_a_source_edited_after_deployment_is_compiled_not_shadowed_by_its_bytecode(tmp_path: Path) -> None:
    """Hash-checked bytecode: an edit in the Lambda console takes effect (unchecked bytecode would hide it)."""
    task = tmp_path / "var-task"
    with zipfile.ZipFile(write_zip(code_archive(), tmp_path / "code.zip")) as zipped:
        zipped.extractall(task)
    errors = task / "landing_pipeline" / "runtime" / "errors.py"
    errors.write_text(errors.read_text(encoding="utf-8") + "\nEDITED_IN_THE_CONSOLE = True\n", encoding="utf-8")
    log = _import_log(task, tmp_path, "landing_pipeline.runtime.errors")
    assert f"# code object from {errors}" in log  # compiled from the edited source


def test_the_bytecode_depends_only_on_the_sources(tmp_path: Path) -> None:
    """Two deployments from two clones (other caches, other hash seeds) upload the same archive."""
    code = ("import json, sys; from pathlib import Path; "
            "from landing_pipeline.components.code_archive import archive_files, bytecode_files; "
            "print(json.dumps({n: p.read_bytes().hex() for n, p in bytecode_files(archive_files(), "
            "Path(sys.argv[1])).items()}))")
    builds = []
    for seed in ("1", "2"):
        done = subprocess.run([sys.executable, "-c", code, str(tmp_path / f"cache-{seed}")], capture_output=True,
                              text=True, timeout=180, check=True, env={**os.environ, "PYTHONHASHSEED": seed})
        builds.append(json.loads(done.stdout))
    assert builds[0] == builds[1] and len(builds[0]) == len(archive_files())


def test_the_glue_library_zip_serves_the_job_script_from_the_zip(tmp_path: Path) -> None:
    library = write_zip(job_library_archive(), tmp_path / "landing_runtime.zip")
    script = tmp_path / "scripts" / "ingest_job.py"  # the uploaded script, away from any checkout
    script.parent.mkdir()
    script.write_text(SCRIPT_SOURCE.read_text(encoding="utf-8"), encoding="utf-8")
    glue = only(GLUE_PACKAGES, tmp_path / "glue")
    result = _isolated([library, glue], ["landing_pipeline.runtime.jobs.ingest_job.main"])
    files = result["files"]
    assert isinstance(files, dict)
    assert str(files["landing_pipeline.runtime.jobs.ingest_job.main"]).startswith(str(library))  # zipimport
    # the script as Glue runs it (not as a module): its imports resolve from the zip
    run_script = (f"import json, runpy, sys; sys.path.extend(json.loads(sys.argv[1])); "
                  f"ns = runpy.run_path({str(script)!r}, run_name='glue_script'); "
                  "import landing_pipeline.runtime.jobs.arguments as a; print(a.__file__); "
                  "assert callable(ns['main'])")
    done = subprocess.run([sys.executable, "-I", "-S", "-c", run_script, json.dumps([str(library), str(glue)])],
                          capture_output=True, text=True, timeout=180, check=False, cwd="/")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().startswith(str(library))
