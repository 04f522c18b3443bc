"""A deploy-only install: `pulumi up` must need none of the extras (simulator, CLI, emulator, Powertools).

The base distribution installs pulumi, pulumi-aws, boto3 and PyYAML. Installing a fresh virtualenv per test
run would need the network, so the test does the next best thing: it runs the real program under Pulumi's
mocks in a subprocess where every module of the extras is made unimportable, the way it is on a machine that
installed only the base distribution. A stray top-level import of numpy or typer in the program's path fails
here exactly as it would fail `pulumi up` there.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

EXTRAS_ONLY = ("simpy", "numpy", "matplotlib", "typer", "rich", "moto", "pyspark", "pyarrow",
               "aws_lambda_powertools")

PROGRAM = textwrap.dedent("""
    import importlib.abc, sys

    BLOCKED = set(sys.argv[1].split(","))

    class NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r} (blocked: an extra)", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())

    import pulumi
    from landing_pipeline.components.mocks import AwsMocks
    from landing_pipeline.components.program_runner import run_program

    run = run_program(AwsMocks(), "prod")
    print(len(run.resources), sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED))
""")


def test_the_program_builds_with_none_of_the_extras_installed() -> None:
    done = subprocess.run([sys.executable, "-c", PROGRAM, ",".join(EXTRAS_ONLY)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    count, _, loaded = done.stdout.strip().rpartition("\n")[2].partition(" ")
    assert int(count) > 50  # the whole stack, not an early exit
    assert loaded == "[]"


def test_the_public_api_imports_without_pulumi_until_the_component_is_asked_for() -> None:
    """`import landing_pipeline.runtime.spec` (the Lambdas, the Glue job, the simulator) must not load Pulumi."""
    code = ("import sys, landing_pipeline, landing_pipeline.runtime.spec;"
            "assert 'pulumi' not in sys.modules, 'pulumi imported';"
            "from landing_pipeline import PipelineSpec, load_stack, SpecError, LandingError;"
            "assert 'pulumi' not in sys.modules;"
            "from landing_pipeline import IngestionPipeline;"
            "assert 'pulumi' in sys.modules;"
            "import landing_pipeline as lp; assert set(lp.__all__) <= set(dir(lp)), lp.__all__;"
            "print(IngestionPipeline.__module__)")
    done = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "landing_pipeline.components.pipeline"


def test_the_base_distribution_asks_for_no_extra_and_each_command_has_its_extra() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    base = {requirement.split(">")[0].split("<")[0].split("[")[0].strip().lower()
            for requirement in project["dependencies"]}
    assert base == {"pulumi", "pulumi-aws", "boto3", "pyyaml"}
    extras = project["optional-dependencies"]
    named = {name: " ".join(requirements).lower() for name, requirements in extras.items()}
    assert "typer" in named["cli"] and "rich" in named["cli"]
    assert all(package in named["simulate"] for package in ("simpy", "numpy", "matplotlib", "[cli]"))
    assert all(package in named["local"] for package in ("moto", "pyspark", "aws-lambda-powertools", "[simulate]"))
