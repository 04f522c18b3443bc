"""``landing plan``: what ``pulumi up`` would create for a stack, without cloud credentials.

Runs the real ``__main__.py`` under Pulumi's mock runtime (so the plan is the
program's own output, not a re-description of it) and prints the resource tree
with the settings worth reviewing; ``--json`` writes the same registrations as
``[{type, name, parent, inputs}]``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from landing_pipeline.cli.common import load_spec_or_exit
from landing_pipeline.cli.plan_summary import short_type, summarize
from landing_pipeline.components.program_runner import ProgramRun, ResourceRecord


def build_plan(stack: str, stack_file: Path | None = None) -> ProgramRun:
    """The program's registrations for ``stack`` under recording mocks."""
    from landing_pipeline.components.mocks import AwsMocks
    from landing_pipeline.components.program_runner import run_program

    return run_program(AwsMocks(), stack, stack_file=stack_file)


def plan_entries(run: ProgramRun) -> list[dict[str, object]]:
    """The ``--json`` document: every resource in tree order."""
    return [record.plan_entry() for record in tree_order(run)]


def tree_order(run: ProgramRun) -> list[ResourceRecord]:
    """Depth-first from the roots, siblings sorted by type and name, so plans diff cleanly."""
    by_parent: dict[str | None, list[ResourceRecord]] = {}
    for record in run.resources:
        by_parent.setdefault(record.parent_urn, []).append(record)
    ordered: list[ResourceRecord] = []

    def visit(parent: str | None) -> None:
        for record in sorted(by_parent.get(parent, []), key=lambda r: (r.custom, r.type, r.name)):
            ordered.append(record)
            visit(record.urn)

    visit(None)
    return ordered


def render_tree(run: ProgramRun, title: str) -> Tree:
    tree = Tree(Text(title, style="bold"))
    nodes: dict[str, Tree] = {}
    for record in tree_order(run):
        label = Text.assemble((short_type(record.type), "cyan" if record.custom else "bold magenta"), "  ",
                              (record.name, "bold"))
        parent = nodes.get(record.parent_urn or "", tree)
        node = parent.add(label)
        for line in summarize(record):
            node.add(Text(line, style="dim" if not record.custom else ""))
        nodes[record.urn] = node
    return tree


def render_counts(run: ProgramRun) -> Table:
    table = Table(title="resources by type")
    table.add_column("type")
    table.add_column("count", justify="right")
    counts = Counter(short_type(r.type) for r in run.resources)
    for type_name, count in sorted(counts.items()):
        table.add_row(escape(type_name), str(count))
    table.add_row("total", str(len(run.resources)), style="bold")
    return table


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan(
        stack: Annotated[str, typer.Option(help="Stack whose Pulumi.<stack>.yaml (over Pulumi.yaml) to plan.")] = "dev",
        spec: Annotated[Path | None, typer.Option(
            help="Plan a stack file in the Pulumi.<stack>.yaml format instead of --stack.")] = None,
        json_path: Annotated[Path | None, typer.Option(
            "--json", help="Also write the plan as JSON: a list of {type, name, parent, inputs}.")] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Skip the tree; print only the counts.")] = False,
    ) -> None:
        """Preview the resources `pulumi up` would create for a stack, without AWS credentials.

        Runs the real Pulumi program under Pulumi's mock runtime and prints every resource with
        its key settings (FIFO and dedup, redrive ceilings, batch sizes, concurrency,
        MaxConcurrentRuns, timeouts, encryption, IAM statements). Invalid configuration exits 2
        with every problem and its fix.

        Examples:
          landing plan --stack prod
          landing plan --stack dev --json plan-dev.json
          landing plan --spec my-stack.yaml -q
        """
        run = build_plan(stack, spec)  # a bad configuration raises; the handler prints every problem, exits 2
        load_spec_or_exit(stack, spec)  # the program accepted it: this prints its warnings, as `landing config` does
        console = Console()
        if not quiet:
            console.print(render_tree(run, f"landing-pipeline plan: {spec or 'stack ' + stack}"))
        console.print(render_counts(run))
        if json_path is not None:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(plan_entries(run), indent=2, default=str) + "\n", encoding="utf-8")
            console.print(f"plan written to {escape(str(json_path))}")
