"""What the Lambda functions run: ``landing_pipeline.runtime``, and Powertools from AWS's layer.

The archive holds ``landing_pipeline/runtime/`` (so ``landing_pipeline.runtime.router.handler``
imports) under a one-line ``landing_pipeline/__init__.py`` of its own, and nothing else: not the
Glue script (``runtime/jobs/``, which runs on Glue, not Lambda), not tests, not caches, not Pulumi. The files are listed
explicitly, so a stray ``__pycache__`` never changes the archive's hash and
triggers a needless redeploy.

Powertools comes from the AWS-managed Lambda layer rather than the bundle:
the archive stays a few dozen kilobytes (fast deploys, code readable in the
console), AWS builds the layer for the exact runtime and architecture, and the
version is pinned here, next to the runtime, in one place. boto3 is provided by
the Lambda runtime itself.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

import landing_pipeline.runtime

RUNTIME_DIR = Path(landing_pipeline.runtime.__file__).resolve().parent
ARCHIVE_ROOT = "landing_pipeline/runtime"
"""Where the runtime package sits inside both archives: the namespace the handler strings name."""
NAMESPACE_INIT = "landing_pipeline/__init__.py"
NAMESPACE_INIT_SOURCE = ('"""landing-pipeline\'s runtime, as deployed: only ``landing_pipeline.runtime`` is in '
                         'this archive (the full package\'s public API needs Pulumi, which AWS does not run)."""\n')
"""The archives' own ``landing_pipeline/__init__.py``: the real one resolves Pulumi names lazily, but an
explicit, import-free file keeps the deployed code independent of it (and of zipimport's namespace rules)."""
EXCLUDED_DIRS = {"jobs", "__pycache__", "tests"}

LAMBDA_RUNTIME = "python3.11"
"""Same Python as Glue 5.0 and the project's own tests."""
LAMBDA_ARCHITECTURE = "arm64"
"""Graviton: about 20% cheaper per GB-second than x86_64 for the same work; the code is pure Python."""

POWERTOOLS_LAYER_VERSION = 27
"""Version of AWSLambdaPowertoolsPythonV3-<python>-<arch>; bump with aws-lambda-powertools in pyproject."""
POWERTOOLS_LAYER_ACCOUNTS = {"aws": "017000801446", "aws-cn": "498634801083"}
"""Accounts publishing the layer per partition (Powertools documentation, "Lambda Layer")."""


def archive_files(runtime_dir: Path = RUNTIME_DIR) -> dict[str, Path]:
    """Archive path -> source file for every module of the runtime package the Lambdas need."""
    files: dict[str, Path] = {}
    for path in sorted(runtime_dir.rglob("*.py")):
        relative = path.relative_to(runtime_dir)
        if any(part in EXCLUDED_DIRS for part in relative.parts[:-1]) or relative.name.startswith("test_"):
            continue
        files[f"{ARCHIVE_ROOT}/{relative.as_posix()}"] = path
    return files


def job_library_files(runtime_dir: Path = RUNTIME_DIR) -> dict[str, Path]:
    """Archive path -> source file for the Glue job's library: the whole ``runtime`` package, jobs included.

    The job script imports ``landing_pipeline.runtime.jobs.*`` (and the spec for the schema types); Glue puts the zip
    given in ``--extra-py-files`` on the path, so the same modules the tests run are the ones Glue runs."""
    files: dict[str, Path] = {}
    for path in sorted(runtime_dir.rglob("*.py")):
        relative = path.relative_to(runtime_dir)
        if any(part in {"__pycache__", "tests"} for part in relative.parts[:-1]) or relative.name.startswith("test_"):
            continue
        files[f"{ARCHIVE_ROOT}/{relative.as_posix()}"] = path
    return files


def _archive(files: dict[str, Path]) -> pulumi.AssetArchive:
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {
        NAMESPACE_INIT: pulumi.StringAsset(NAMESPACE_INIT_SOURCE)}
    assets.update({name: pulumi.FileAsset(str(path)) for name, path in files.items()})
    return pulumi.AssetArchive(assets)


def job_library_archive(runtime_dir: Path = RUNTIME_DIR) -> pulumi.AssetArchive:
    return _archive(job_library_files(runtime_dir))


def code_archive(runtime_dir: Path = RUNTIME_DIR) -> pulumi.AssetArchive:
    return _archive(archive_files(runtime_dir))


def powertools_layer_arn(partition: str, region: str) -> str:
    account = POWERTOOLS_LAYER_ACCOUNTS.get(partition)
    if account is None:
        raise ValueError(f"no AWS-managed Powertools layer is known for partition {partition!r} "
                         f"(known: {', '.join(POWERTOOLS_LAYER_ACCOUNTS)}); publish the layer in your account "
                         "and add it to POWERTOOLS_LAYER_ACCOUNTS in components/code_archive.py")
    python = LAMBDA_RUNTIME.replace(".", "")
    return (f"arn:{partition}:lambda:{region}:{account}:layer:"
            f"AWSLambdaPowertoolsPythonV3-{python}-{LAMBDA_ARCHITECTURE}:{POWERTOOLS_LAYER_VERSION}")
