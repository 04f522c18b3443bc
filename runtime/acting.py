"""Carrying out a decision: commit it, then its effects (announcements, a wake-up, a start, the slot handoff).

The three handlers share this, so what a decision means on AWS is written once. The order matters: the
commit first (the only step that can fail because someone else moved), the effects after it, each of them
safe to repeat (deterministic dedup ids; a start fenced by its token), and each repeated by the reconciler
if the handler dies before it (``next_check_at`` is set by the same commit).
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from landing_pipeline.runtime import observability as obs
from landing_pipeline.runtime.context import RuntimeContext, aws_error_code, is_aws_error
from landing_pipeline.runtime.contract import LEDGER_TABLE_ARG, RUN_TOKEN_ARG, SORT_KEYS_ARG
from landing_pipeline.runtime.decide import Caller, Decision, Outcome, RunEnd, restart, run_ended, start_refused
from landing_pipeline.runtime.group_state import Phase, Policy
from landing_pipeline.runtime.ledger import Commit, GroupView
from landing_pipeline.runtime.wakeups import announce, send_wake_for

if TYPE_CHECKING:   # the job's arguments are built only by start_run: the dispatcher imports runtime.job_args
    # itself (every start needs it); completion never starts a run and the reconciler only on a rare restart
    from landing_pipeline.runtime.job_args import BatchFile

NO_SLOT_CODES = ("ConcurrentRunsExceededException", "ResourceNumberLimitExceededException")
RATE_CODES = ("ThrottlingException",)
MAX_RUN_PAGES = 5


def policy(ctx: RuntimeContext, group: str | None = None, feed_name: str | None = None) -> Policy:
    """The rules for ``group``: the stack's, with the group's feed's own ``onFailure`` when it sets one. The feed:
    by the group's name (``matchOn: group``), else ``feed_name``, the one the group item records (``file_name``)."""
    rules = Policy.from_spec(ctx.spec)
    if group is None or not ctx.spec.feeds:
        return rules
    from landing_pipeline.runtime.feeds import feed_of_group  # only stacks with feeds import the module

    feed = feed_of_group(ctx.spec.feeds, group) or next((f for f in ctx.spec.feeds if f.name == feed_name), None)
    if feed is None or not feed.on_failure or feed.on_failure == rules.on_failure:
        return rules
    return dataclasses.replace(rules, on_failure=feed.on_failure)


def carry_out(ctx: RuntimeContext, view: GroupView, d: Decision) -> Commit:
    """Commit ``d`` and, if it committed, send what it announces and wakes."""
    result = ctx.ledger.commit(view.group, d, ctx.now(), lineage=view.lineage)
    if result != Commit.OK:
        return result
    group = view.group.group
    for dead in d.announce:
        if announce(ctx, group, dead):
            ctx.ledger.mark_announced(group, dead.sort_key, dead.death)
            obs.logger.error("file is DEAD; announced", extra={"file_id": dead.file_id, "death": dead.death,
                                                                "reason": dead.reason})
    for change in d.files:
        metric = {"failed": obs.FAILED, "dead": obs.DEAD, "parked_late": obs.DEAD}
        if change.event in metric:
            obs.count(metric[change.event])
    if d.release and d.outcome == Outcome.SUCCEEDED and view.group.lease_keys:
        # the lease's files, whether the job committed them (fencing) or this release does
        obs.count(obs.SUCCEEDED, len(view.group.lease_keys))
    # the freed slot goes to the longest waiter first: the releasing group's own wake-up, sent before it,
    # would reach the dispatcher first and take the slot back (a group with a backlog starving the line)
    if d.release and d.kind != "refused":   # a refused start freed no Glue slot: nobody to hand it to
        wake_waiters(ctx, 1)
    if d.send_wake:
        send_wake_for(ctx, group, view.group.version + 1, view.group.seq)
    return Commit.OK


def wake_waiters(ctx: RuntimeContext, slots: int) -> int:
    """Wake up to ``slots`` groups that wait longest for a Glue slot (the line is read strongly). Never raises:
    a waiter not woken now is woken by the reconciler's next pass."""
    woken = 0
    try:
        for sk, group in ctx.ledger.waiters(slots + 2):
            if woken >= slots:
                break
            after = ctx.ledger.set_wake_pending(group, state=Phase.WAITING_FOR_SLOT)
            if after is None:
                current = ctx.ledger.get_group(group)
                if current is None or current.state != Phase.WAITING_FOR_SLOT:
                    ctx.ledger.drop_waiter(sk)   # it left the line without its entry being removed
                continue   # it already has a wake-up coming for an earlier slot: this slot goes to the next
            send_wake_for(ctx, group, after.version, after.seq)
            obs.count(obs.WOKEN)
            woken += 1
    except Exception as exc:
        obs.count(obs.WAKEUPS_FAILED)
        obs.logger.warning("could not wake a group waiting for a Glue slot", extra={"error": str(exc)})
    return woken


def start_run(ctx: RuntimeContext, view: GroupView, d: Decision) -> str:
    """StartJobRun for a committed lease, without SDK retries. An ambiguous answer (timeout, 5xx) leaves the
    lease STARTING for the reconciler (or the next wake-up) to resolve by its token, never a blind retry (F1)."""
    from landing_pipeline.runtime.job_args import run_arguments

    lease = d.lease
    assert lease is not None
    group = view.group.group
    files = _run_files(view, lease.sort_keys, lease.run_numbers)
    attempt = files[0].attempt
    arguments, batch_object = run_arguments(ctx.spec, files, output_bucket=ctx.output_bucket, token=lease.token)
    arguments.update({RUN_TOKEN_ARG: lease.token, LEDGER_TABLE_ARG: ctx.ledger_table,
                      SORT_KEYS_ARG: json.dumps(list(lease.sort_keys), ensure_ascii=False)})
    if batch_object is not None:   # before the start: a run must find its list (a failed put leaves it STARTING)
        bucket, _, key = batch_object.uri.removeprefix("s3://").partition("/")
        ctx.s3.put_object(Bucket=bucket, Key=key, ContentType="application/json",
                          Body=json.dumps(batch_object.document, ensure_ascii=False).encode("utf-8"))
    try:
        run_id = str(ctx.glue_starts.start_job_run(JobName=ctx.job_name, Arguments=arguments)["JobRunId"])
    except Exception as exc:
        if is_aws_error(exc, *NO_SLOT_CODES, *RATE_CODES):
            obs.count(obs.THROTTLED)
            return _refused(ctx, group, no_slot=is_aws_error(exc, *NO_SLOT_CODES), code=aws_error_code(exc))
        if is_aws_error(exc) and not _ambiguous(exc):
            raise
        obs.logger.warning("StartJobRun gave no answer; the lease stays STARTING until its run is found by token",
                           extra={"token": lease.token, "error": str(exc)})
        return "ambiguous"
    obs.add_keys(run_id=run_id, attempt=attempt)
    obs.count(obs.STARTED)
    if not ctx.ledger.record_run(group, lease.token, run_id):
        obs.logger.warning("run started but the lease moved on before its id was recorded",
                           extra={"token": lease.token})
    obs.logger.info("run started", extra={"token": lease.token, "files": len(lease.sort_keys),
                                          "late": len(lease.late)})
    return "started"


def _run_files(view: GroupView, sort_keys: tuple[str, ...], run_numbers: tuple[int, ...]) -> list[BatchFile]:
    """The lease's files as the job's arguments name them, in the lease's order (a restart's lease carries no
    run numbers: each file's attempts + 1, as its first start passed)."""
    from landing_pipeline.runtime.job_args import BatchFile, JobInput

    open_files = {f.sort_key: f for f in view.files}
    files: list[BatchFile] = []
    for index, key in enumerate(sort_keys):
        lineage, f = view.lineage.get(key), open_files.get(key)
        if lineage is None or f is None:
            raise RuntimeError(f"lease of {view.group.group!r} names {key!r}, which is no longer open")
        number = run_numbers[index] if index < len(run_numbers) else f.attempts + 1
        files.append(BatchFile(JobInput(bucket=lineage.bucket, key=lineage.key, version_id=lineage.version_id,
                                        group=view.group.group, file_id=f.file_id), number, key))
    return files


def _ambiguous(exc: BaseException) -> bool:
    """A 5xx or a throttling-free server error: the run may or may not exist."""
    response: Any = getattr(exc, "response", {}) or {}
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return status >= 500 or aws_error_code(exc) in ("InternalServiceException", "ServiceUnavailable",
                                                    "InternalFailure")


def _refused(ctx: RuntimeContext, group: str, *, no_slot: bool, code: str | None) -> str:
    for _ in range(4):
        view = ctx.ledger.load_group(group)
        d = start_refused(view.group, view.files, ctx.now(), policy(ctx, group, view.group.feed), no_slot=no_slot)
        if carry_out(ctx, view, d) == Commit.OK:
            obs.logger.info("Glue refused the start; the lease is released", extra={"error_code": code,
                                                                                     "state": str(d.state)})
            return "waiting" if no_slot else "throttled"
    raise RuntimeError(f"group {group!r} kept changing after a refused start")


def find_run_by_token(ctx: RuntimeContext, token: str) -> dict[str, Any] | None:
    """The job's run started with ``token`` (GetJobRuns is newest first, with no filter by argument)."""
    request: dict[str, Any] = {"JobName": ctx.job_name, "MaxResults": 200}
    for _ in range(MAX_RUN_PAGES):
        page = ctx.glue.get_job_runs(**request)
        for run in page.get("JobRuns", []):
            if (run.get("Arguments") or {}).get(RUN_TOKEN_ARG) == token:
                return dict(run)
        if not page.get("NextToken"):
            return None
        request["NextToken"] = page["NextToken"]
    return None


def resolve_check(ctx: RuntimeContext, view: GroupView, d: Decision, caller: Caller) -> str:
    """The lease needs a look at Glue: finish an ended run (F10), adopt a found one, restart an unanswered
    start past its grace with the same token (F1). Returns what was done, or "live" / "conflict"."""
    check = d.check
    assert check is not None
    group = view.group.group
    now, rules = ctx.now(), policy(ctx, group, view.group.feed)
    seen: dict[str, Any] | None = None   # the run as Glue shows it: the catalog is brought up to date from it
    if check.run_id:
        try:
            seen = ctx.glue.get_job_run(JobName=ctx.job_name, RunId=check.run_id)["JobRun"]
            state, error = str(seen.get("JobRunState", "")), seen.get("ErrorMessage")
        except Exception as exc:
            if not is_aws_error(exc, "EntityNotFoundException"):
                raise
            state, error = "UNKNOWN", f"Glue has no run {check.run_id}"
        decision = run_ended(view.group, view.files, RunEnd(check.run_id, check.token, state, error), now, rules,
                             caller=caller)
    else:
        found = seen = find_run_by_token(ctx, check.token)
        if found is not None:
            ctx.ledger.put_run(str(found["Id"]), group, check.token)
            decision = run_ended(view.group, view.files, RunEnd(str(found["Id"]), check.token,
                                                                str(found.get("JobRunState", "")),
                                                                found.get("ErrorMessage")), now, rules, caller=caller)
        elif check.overdue:
            decision = restart(view.group, now, rules)
        else:
            return "live"
    if not decision.writes:
        return "live"
    if carry_out(ctx, view, decision) != Commit.OK:
        return "conflict"
    if seen is not None and ctx.keeps_catalog:
        from landing_pipeline.runtime.catalog_sync import sync_run  # only stacks with feeds keep a catalog

        sync_run(ctx, seen)
    obs.count(obs.RECOVERED)
    obs.logger.warning("lease resolved from Glue", extra={"action": decision.kind, "reason": decision.reason})
    if decision.kind == "restart":
        start_run(ctx, view, decision)
    return decision.kind
