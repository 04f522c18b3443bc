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

The Lambda archive also carries each module's bytecode (``__pycache__/<module>.cpython-311.pyc``). Lambda's
``/var/task`` is read-only, so without it every cold start compiles the runtime again: measured here, importing
the dispatcher's own modules took 130-220 ms from source and 55-95 ms from bytecode, on a full core; a 256 MB
function has a fraction of one. The bytecode is hash-checked (PEP 552): Python compares it with the source's
hash, so a file edited in the console is compiled as before rather than ignored, and the archive depends only
on the sources (no timestamps), so it is the same from every clone. It is written only when the deploying
Python is the Lambda's (3.11); other versions deploy sources alone, which work the same, a little slower.
"""

from __future__ import annotations

import hashlib
import os
import py_compile
import sys
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


LAMBDA_CACHE_TAG = "cpython-" + LAMBDA_RUNTIME.removeprefix("python").replace(".", "")
"""The bytecode tag the Lambda runtime's Python looks for in ``__pycache__``."""


def bytecode_name(source_name: str) -> str:
    """Where Python looks for a module's bytecode: ``a/b.py`` -> ``a/__pycache__/b.cpython-311.pyc``."""
    folder, module = source_name.rsplit("/", 1)
    return f"{folder}/__pycache__/{module.removesuffix('.py')}.{LAMBDA_CACHE_TAG}.pyc"


def _bytecode_cache() -> Path:
    """Where compiled modules are kept for Pulumi to read: named by content, so one cache serves every stack
    and project, and a file is never rewritten while a deployment reads it."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "landing-pipeline" / "lambda-bytecode"


def bytecode_files(files: dict[str, Path], cache: Path | None = None) -> dict[str, Path]:
    """Archive path of each module's ``__pycache__`` entry -> its hash-checked bytecode, compiled for the Lambda's
    Python; empty when this Python is another version (its bytecode would be ignored) or nothing can be written."""
    if sys.implementation.cache_tag != LAMBDA_CACHE_TAG:
        return {}
    cache = cache or _bytecode_cache()
    compiled: dict[str, Path] = {}
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for name, source in files.items():
            identity = f"{sys.version}\0{name}\0".encode() + source.read_bytes()
            target = cache / f"{hashlib.sha256(identity).hexdigest()[:32]}.{LAMBDA_CACHE_TAG}.pyc"
            if not target.exists():
                scratch = target.with_name(f"{target.name}.{os.getpid()}.tmp")
                py_compile.compile(str(source), cfile=str(scratch), dfile=name, doraise=True,
                                   invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
                os.replace(scratch, target)  # whole or absent, even with two deployments compiling at once
            compiled[bytecode_name(name)] = target
    except OSError:
        return {}  # no writable cache: sources alone, as before
    return compiled


def _archive(files: dict[str, Path], bytecode: bool = False) -> pulumi.AssetArchive:
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {
        NAMESPACE_INIT: pulumi.StringAsset(NAMESPACE_INIT_SOURCE)}
    assets.update({name: pulumi.FileAsset(str(path)) for name, path in files.items()})
    if bytecode:
        assets.update({name: pulumi.FileAsset(str(path)) for name, path in bytecode_files(files).items()})
    return pulumi.AssetArchive(assets)


def job_library_archive(runtime_dir: Path = RUNTIME_DIR) -> pulumi.AssetArchive:
    """Sources only: Glue imports the library from the zip itself, and zipimport never reads ``__pycache__``."""
    return _archive(job_library_files(runtime_dir))


def code_archive(runtime_dir: Path = RUNTIME_DIR) -> pulumi.AssetArchive:
    """The Lambdas' archive: the runtime's sources and, from a Python 3.11, their bytecode."""
    return _archive(archive_files(runtime_dir), bytecode=True)


def powertools_layer_arn(partition: str, region: str) -> str:
    account = POWERTOOLS_LAYER_ACCOUNTS.get(partition)
    if account is None:
        raise ValueError(f"no AWS-managed Powertools layer is known for partition {partition!r} "
                         f"(known: {', '.join(POWERTOOLS_LAYER_ACCOUNTS)}); publish the layer in your account "
                         "and add it to POWERTOOLS_LAYER_ACCOUNTS in components/code_archive.py")
    python = LAMBDA_RUNTIME.replace(".", "")
    return (f"arn:{partition}:lambda:{region}:{account}:layer:"
            f"AWSLambdaPowertoolsPythonV3-{python}-{LAMBDA_ARCHITECTURE}:{POWERTOOLS_LAYER_VERSION}")
