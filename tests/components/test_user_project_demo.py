"""``landing demo`` inside a reusing project deploys what its program declares, not its stack file.

The user's program passes ``key_prefix="incoming/"`` while ``Pulumi.dev.yaml`` says
``landing-pipeline:keyPrefix: landing/``. Before the fix the emulator read the stack file, uploaded
every file under ``landing/`` where the deployed rule never looks, and reported nothing as a success.
"""

from __future__ import annotations

import sys
from pathlib import Path

from landing_pipeline.emulator.demo import DemoOptions, run_demo
from landing_pipeline.emulator.deploy import read_stack
from tests.components.test_user_project import USER_PACKAGES, user_project


def _isolated(project: Path) -> None:
    for name in ("components", "components.naming", "runtime"):
        sys.modules.pop(name, None)


def test_demo_in_a_user_project_routes_by_the_programs_args(tmp_path: Path) -> None:
    project = user_project(tmp_path / "acme")
    files = tmp_path / "files"
    files.mkdir()
    (files / "orders_20250915_101500.csv").write_text("id,amount\n1,10\n2,20\n", encoding="utf-8")
    (files / "orders_20250915_103000.csv").write_text("id,amount\n3,30\n", encoding="utf-8")
    saved_path, saved = list(sys.path), {k: sys.modules.pop(k) for k in USER_PACKAGES if k in sys.modules}
    try:
        stack = read_stack("dev", project)
        assert stack.spec.key_prefix == "incoming/" and stack.pipeline == "orders"
        assert stack.config["landing-pipeline:keyPrefix"] == "landing/"  # what the file says, and is not used
        result = run_demo(DemoOptions(stack="dev", project_dir=project, engine="sleep", speedup=120.0,
                                      files=files, timeout_s=240))
    finally:
        sys.path[:] = saved_path
        _isolated(project)
        sys.modules.update(saved)
    assert result.quiet
    assert result.region == "eu-central-1"
    keys = sorted(f["key"] for f in result.report["files"])
    assert keys == ["incoming/orders_20250915_101500.csv", "incoming/orders_20250915_103000.csv"]
    assert [f["status"] for f in result.report["files"]] == ["SUCCEEDED", "SUCCEEDED"], result.report["files"]
    assert {view.status for view in result.ledger.values()} == {"SUCCEEDED"} and len(result.ledger) == 2
