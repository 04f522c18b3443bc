"""The rules a pipeline configuration must satisfy before anything is deployed.

Every rule adds a ``Problem`` instead of raising, so a user sees all that is
wrong with a stack at once, each with the setting, the value and the fix.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from landing_pipeline.runtime.contract import PROJECT
from landing_pipeline.runtime.errors import Problem
from landing_pipeline.runtime.spec import (
    JOB_TYPES,
    LAMBDA_MAX_TIMEOUT_S,
    LOG_RETENTION_DAYS,
    QUEUE_VISIBILITY_FACTOR,
    SCHEMA_TYPES,
    SQS_MAX_VISIBILITY_S,
    WORKER_TYPES,
    _camel,
    _split_column,
)

if TYPE_CHECKING:
    from landing_pipeline.runtime.spec import PipelineSpec

GLUE_VERSIONS = ("4.0", "5.0")
_DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SETTLE_MAX_S = 3600
"""Longest settle wait: past an hour a file is no longer 'a little' delayed, and its group waits that long."""
BATCH_MAX_FILES = 25
"""Most files in one batch: each file the run finishes is one transaction of its own, but a release applies the
files left in the lease in one transaction (two items a file, plus the group item, its slot and its line entry),
which DynamoDB caps at 100 items; 25 leaves room (docs/design: "about 25 with per-file commits")."""
RUN_START_S = 35.0
"""The simulator's run-time model of one Glue run's fixed part (scenario ``JobModel.startup_s`` 20 s, plus the
``realistic`` overhead's ``glue_start_s`` 15 s): paid once per run, whatever the batch size."""
FILE_RUN_S = 90.0
"""The simulator's run-time model of one file's own work (``JobModel.duration``: lognormal, mean 90 s)."""
READ_MB_PER_S_PER_WORKER = 10.0
"""What one Glue worker reads, validates and writes per second, conservatively (CSV parsing, validation and a
Parquet write; a merge reads the file again): the bound ``batchMaxBytes`` is checked against."""
RECONCILE_MAX_MINUTES = 720
"""Longest reconciler interval (12 h): a lost Glue event waits this long, and the dead-files alarm looks at two
intervals at once, which CloudWatch caps at a day."""


class _Checker:
    def __init__(self, spec: PipelineSpec):
        self.spec = spec
        self.problems: list[Problem] = []

    def add(self, name: str, message: str, fix: str, value: Any = None) -> None:
        shown = getattr(self.spec, name) if value is None else value
        if isinstance(shown, tuple):
            shown = list(shown)
        self.problems.append(Problem(_camel(name), shown, message, fix))

    def choice(self, name: str, allowed: tuple[str, ...]) -> None:
        if getattr(self.spec, name) not in allowed:
            self.add(name, "not a known choice", f"use one of: {', '.join(allowed)}")

    def int_range(self, name: str, low: int, high: int, fix: str) -> None:
        value = getattr(self.spec, name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.add(name, f"must be a whole number from {low} to {high}", fix)


def validate(spec: PipelineSpec) -> list[Problem]:
    """Every problem of ``spec``, empty when it can be deployed."""
    check = _Checker(spec)
    _landing(check)
    _grouping(check)
    _processing(check)
    _job(check)
    _functions(check)
    _monitoring(check)
    _feeds(check)
    return check.problems


FEEDS_DOCUMENT_MAX_BYTES = 262_144
"""The most the feeds may take at all: every cold start of every function reads and checks the document (150
feeds take about 15 KB)."""


def _feeds(check: _Checker) -> None:
    """The feeds' own rules (``runtime/feeds.py``), then what they mean for the stack. In a Lambda the overlap
    check is skipped: the deploy ran it on the same feeds, and it costs a cold start ~0.1 s for 150 feeds."""
    import os

    from landing_pipeline.runtime.feeds import feed_problems, feeds_to_json

    spec = check.spec
    check.choice("unmatched_files", ("default", "reject"))
    if not spec.feeds:
        if spec.unmatched_files == "reject":
            check.add("unmatched_files", "has no effect without feeds (every file is unmatched)",
                      "declare feeds, or leave unmatchedFiles at 'default'")
        return
    check.problems.extend(feed_problems(spec.feeds, overlap="AWS_LAMBDA_FUNCTION_NAME" not in os.environ))
    size = len(feeds_to_json(spec.feeds).encode())
    if size > FEEDS_DOCUMENT_MAX_BYTES:
        check.add("feeds", f"the feeds take {size:,} bytes of JSON; at most {FEEDS_DOCUMENT_MAX_BYTES:,} are "
                  "accepted (every cold start of every function reads them)",
                  "declare fewer feeds, shorten their patterns, or share one feed's schema through the "
                  "stack-wide schema", f"{len(spec.feeds)} feeds")


def _landing(check: _Checker) -> None:
    spec = check.spec
    if spec.key_prefix.startswith("/"):
        check.add("key_prefix", "S3 keys never start with '/'", "drop the leading '/', e.g. 'incoming/'")
    if spec.existing_bucket_name and not _BUCKET_NAME.match(spec.existing_bucket_name):
        check.add("existing_bucket_name", "not a valid S3 bucket name",
                  "give the bucket's exact name (3-63 lowercase letters, digits, '.' or '-'), or leave it "
                  "empty to create a bucket")
    if spec.bucket_kms_key_arn and not re.match(r"^arn:aws[a-z-]*:kms:", spec.bucket_kms_key_arn):
        check.add("bucket_kms_key_arn", "not a KMS key ARN",
                  "give a key ARN like arn:aws:kms:REGION:ACCOUNT:key/ID, or leave it empty for SSE-S3")
    check.int_range("landed_object_expiration_days", 0, 36500,
                    "use 0 to keep landed objects, or the number of days to keep them")
    if spec.existing_bucket_name and isinstance(spec.landed_object_expiration_days, int) \
            and spec.landed_object_expiration_days > 0:  # what the component cannot honour is checked here too,
        check.add("landed_object_expiration_days",  # so landing config and landing plan never disagree
                  "a lifecycle configuration replaces every rule of the existing bucket "
                  f"{spec.existing_bucket_name!r}, so the pipeline does not write one",
                  "set it to 0 and add an expiration rule to your bucket's own lifecycle configuration")


def _grouping(check: _Checker) -> None:
    spec = check.spec
    check.choice("grouping_rule", ("default", "regex", "filename", "fields"))
    check.choice("grouping_fallback", ("filename", "reject"))
    check.choice("ordering_scope", ("group", "folder", "global"))
    check.choice("order_by", ("landing_time", "file_name"))
    check.int_range("settle_seconds", 0, SETTLE_MAX_S,
                    f"use seconds a file waits before it starts, e.g. 30 (0: no wait; at most {SETTLE_MAX_S})")
    check.choice("late_files", ("run", "park"))
    if spec.grouping_rule == "regex":
        if not spec.grouping_pattern:
            check.add("grouping_pattern", "groupingRule is regex but no pattern is set",
                      f"set a pattern with a named group, e.g. {_quoted(EXAMPLE_PATTERN)}")
        else:
            try:
                compiled = re.compile(spec.grouping_pattern)
            except re.error as exc:
                check.add("grouping_pattern", f"not a valid regular expression ({exc})",
                          f"correct the expression, e.g. {_quoted(_repaired(spec.grouping_pattern, exc))}")
            else:
                if "group" not in compiled.groupindex:
                    check.add("grouping_pattern", "the pattern has no named group 'group'",
                              f"name the part that is the group, e.g. {_quoted(_named(spec.grouping_pattern))}")
    elif spec.grouping_pattern:
        check.add("grouping_pattern", f"a pattern is set but groupingRule is {spec.grouping_rule!r}",
                  "set groupingRule to regex, or remove groupingPattern")
    check.int_range("grouping_fields", 1, 50, "use the number of leading fields that name the group, e.g. 2")
    if not spec.grouping_separator:
        check.add("grouping_separator", "must not be empty", "use the character between fields, e.g. '_'")


EXAMPLE_PATTERN = r"^(?P<group>[a-z]+_\d{8})"
"""A grouping pattern that works: ``orders_20240101_1200.csv`` -> group ``orders_20240101``."""


def _quoted(pattern: str) -> str:
    """As written in a stack file: YAML single quotes keep backslashes, so the text pastes as it reads."""
    return f"{PROJECT}:groupingPattern: '" + pattern.replace("'", "''") + "'"


def _compiles_with_group(pattern: str) -> bool:
    try:
        return "group" in re.compile(pattern).groupindex
    except re.error:
        return False


def _named(pattern: str) -> str:
    """``pattern`` with its first capturing group named ``group`` (or wrapped whole in one): a fix that compiles."""
    plain = re.search(r"(?<!\\)\((?!\?)", pattern)
    candidates = [pattern[:plain.start()] + "(?P<group>" + pattern[plain.end():]] if plain else []
    candidates.append(f"(?P<group>{pattern})")
    return next((c for c in candidates if _compiles_with_group(c)), EXAMPLE_PATTERN)


def _repaired(pattern: str, error: re.error) -> str:
    """The smallest edit of ``pattern`` that compiles with a ``group`` group, else a working example.

    Tried in order: close an unterminated group, escape the character the parser stopped at (a stray
    ``)``, ``*``, ``[`` ...), then name a group; the suggestion is only offered when it compiles.
    """
    tries = [pattern + ")"]
    if error.pos is not None and error.pos < len(pattern):
        tries.append(pattern[:error.pos] + "\\" + pattern[error.pos:])
    for candidate in tries:
        try:
            re.compile(candidate)
        except re.error:
            continue
        return candidate if _compiles_with_group(candidate) else _named(candidate)
    return EXAMPLE_PATTERN


def _processing(check: _Checker) -> None:
    spec = check.spec
    check.int_range("max_parallel_groups", 1, 1000,
                    "use how many groups may run at once (1-1000; Glue's MaxConcurrentRuns follows it)")
    check.int_range("max_attempts", 1, 100, "use how many Glue runs a file gets before it is DEAD, e.g. 3")
    if spec.max_receives and isinstance(spec.max_attempts, int) and spec.max_receives <= spec.max_attempts:
        check.add("max_receives", f"must be above maxAttempts ({spec.max_attempts}) or 0",
                  "use 0 (automatic: max(100, 10 x maxAttempts)), or a ceiling above maxAttempts")
    check.int_range("max_receives", 0, 1000, "use 0 (automatic), or a value up to 1000 (the SQS limit)")
    check.int_range("retry_backoff_base_s", 0, SQS_MAX_VISIBILITY_S, "use seconds, e.g. 60")
    check.int_range("retry_backoff_cap_s", 0, SQS_MAX_VISIBILITY_S,
                    "use seconds up to 43200 (SQS's 12-hour visibility limit)")
    if spec.retry_backoff_cap_s < spec.retry_backoff_base_s:
        check.add("retry_backoff_cap_s", f"is below retryBackoffBaseS ({spec.retry_backoff_base_s})",
                  "raise the cap or lower the base")
    check.int_range("throttle_backoff_s", 1, 900, "use seconds, e.g. 30")
    check.choice("on_failure", ("continue", "block"))
    check.int_range("batch_max_files", 1, BATCH_MAX_FILES,
                    f"use how many files one Glue run may take, 1-{BATCH_MAX_FILES} (1: one run per file)")
    check.int_range("batch_max_bytes", 1, 10**15, "use bytes, e.g. 1073741824 (1 GiB)")
    check.int_range("batch_window_seconds", 0, SETTLE_MAX_S,
                    f"use seconds an idle group's head file waits for more files, e.g. 60 (0: no wait; at most "
                    f"{SETTLE_MAX_S})")
    readable = readable_bytes(spec)
    if readable is not None and isinstance(spec.batch_max_bytes, int) and spec.batch_max_bytes > readable:
        check.add("batch_max_bytes",
                  f"is above what one run can read within jobTimeoutMinutes ({spec.job_timeout_minutes}): about "
                  f"{readable} bytes at {READ_MB_PER_S_PER_WORKER:g} MB/s per worker x workerCount "
                  f"({spec.worker_count})", f"lower batchMaxBytes to at most {readable}, or raise jobTimeoutMinutes")
    check.int_range("reconcile_minutes", 1, RECONCILE_MAX_MINUTES,
                    "use minutes between reconciler passes, e.g. 5 (at least 1: EventBridge Scheduler's "
                    "finest rate; a lost Glue event waits up to this long)")


def _job(check: _Checker) -> None:
    spec = check.spec
    check.choice("job_type", JOB_TYPES)
    check.choice("glue_version", GLUE_VERSIONS)
    check.choice("worker_type", WORKER_TYPES)
    check.int_range("worker_count", 2, 1000, "Spark jobs need at least 2 workers")
    check.int_range("job_timeout_minutes", 1, SQS_MAX_VISIBILITY_S // 60, "use minutes, e.g. 60")
    if isinstance(spec.job_timeout_minutes, int) and isinstance(spec.hold_margin_s, int):
        hold = spec.job_timeout_minutes * 60 + spec.hold_margin_s
        if hold > SQS_MAX_VISIBILITY_S:
            check.add("job_timeout_minutes",
                      f"with holdMarginS ({spec.hold_margin_s}) the hold is {hold} s, past SQS's "
                      f"{SQS_MAX_VISIBILITY_S} s (12 h) visibility limit",
                      f"keep jobTimeoutMinutes * 60 + holdMarginS <= {SQS_MAX_VISIBILITY_S}, e.g. "
                      f"jobTimeoutMinutes <= {(SQS_MAX_VISIBILITY_S - spec.hold_margin_s) // 60}")
    if spec.script_location and not spec.script_location.startswith("s3://"):
        check.add("script_location", "must be an s3:// URI", "upload your script and give s3://bucket/key, "
                  "or leave it empty for the bundled job")
    for prefix_name in ("output_prefix", "quarantine_prefix"):
        prefix = getattr(spec, prefix_name)
        if not prefix or not prefix.endswith("/") or prefix.startswith("/"):
            check.add(prefix_name, "must be a folder prefix like 'name/'", "use e.g. 'processed/'")
    if spec.output_prefix == spec.quarantine_prefix:
        check.add("quarantine_prefix", "is the same as outputPrefix", "use a separate prefix, e.g. 'quarantine/'")
    _columns(check)


def _columns(check: _Checker) -> None:
    check.problems.extend(column_problems(check.spec.schema, check.spec.merge_keys))


def column_problems(schema: tuple[str, ...], merge_keys: tuple[str, ...], prefix: str = "") -> list[Problem]:
    """What is wrong with a declared schema and its merge keys: one rule set for the stack-wide settings and
    for each feed's own (``prefix`` "feeds[2]." gives the settings "feeds[2].schema" and "feeds[2].mergeKeys")."""
    problems: list[Problem] = []

    def add(name: str, message: str, fix: str, value: Any) -> None:
        problems.append(Problem(f"{prefix}{name}", value, message, fix))

    # a YAML flow list, [amount:decimal(12,2)], splits at the comma: one column became two, reported once
    split = {index for index, (column, following) in enumerate(pairwise(schema))
             if (declared := _split_column(column)[1]).startswith("decimal(") and ")" not in declared
             and following.rstrip().endswith(")")}
    names: list[str] = []
    for index, column in enumerate(schema):
        name, kind = _split_column(column)
        if index - 1 in split:
            continue   # the second half of the split decimal before it
        if index in split:
            following = schema[index + 1]
            add("schema", f"column {name!r} was split at the comma of its decimal type ({column!r}, {following!r})",
                f"quote it: '{column},{following.strip()}' (YAML splits an unquoted [..] list at every comma)",
                column)
            names.append(name)
            continue
        if not _COLUMN_NAME.match(name):
            add("schema", f"column {column!r} has no valid name", "write columns as 'name:type'", column)
        elif kind not in SCHEMA_TYPES and not _DECIMAL.match(kind):
            add("schema", f"column {name!r} has unknown type {kind!r}",
                f"use one of {', '.join(SCHEMA_TYPES)} or decimal(p,s)", column)
        names.append(name)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        add("schema", f"columns declared twice: {', '.join(duplicates)}", "declare each column once", list(schema))
    for key in merge_keys:
        if not _COLUMN_NAME.match(key):
            add("mergeKeys", f"{key!r} is not a column name", "list column names, e.g. ['order_id']",
                list(merge_keys))
        elif names and key not in names:
            add("mergeKeys", f"{key!r} is not in the declared schema", "add it to schema, or correct the name",
                list(merge_keys))
    if len(set(merge_keys)) != len(merge_keys):
        add("mergeKeys", "a key is listed twice", "list each key once", list(merge_keys))
    return problems


def _functions(check: _Checker) -> None:
    for name in ("router_timeout_s", "dispatcher_timeout_s", "completion_timeout_s"):
        value = getattr(check.spec, name)
        if not isinstance(value, int) or not 1 <= value <= LAMBDA_MAX_TIMEOUT_S:
            check.add(name, f"a Lambda timeout must be 1-{LAMBDA_MAX_TIMEOUT_S} s; its queue's visibility "
                      f"must be {QUEUE_VISIBILITY_FACTOR}x that, within SQS's {SQS_MAX_VISIBILITY_S} s",
                      "use seconds, e.g. 30 (the handlers finish in well under a second)")
    check.int_range("hold_margin_s", 60, SQS_MAX_VISIBILITY_S,
                    "use at least 60 s so a completion event arrives before the held message reappears")
    check.int_range("lambda_memory_mb", 128, 10240, "use megabytes, e.g. 256")
    if check.spec.log_retention_days not in LOG_RETENTION_DAYS:
        check.add("log_retention_days", "not a retention CloudWatch Logs accepts",
                  f"use one of {', '.join(str(d) for d in LOG_RETENTION_DAYS[:12])}, ...")


def _monitoring(check: _Checker) -> None:
    spec = check.spec
    check.int_range("oldest_message_alarm_s", 60, 14 * 24 * 3600, "use seconds, e.g. 3600")
    check.int_range("dlq_depth_alarm_threshold", 0, 100000, "use 0 to alarm on the first dead message")
    if spec.alarm_email and not _EMAIL.match(spec.alarm_email):
        check.add("alarm_email", "not an email address", "give an address like ops@example.com, or leave it empty")
    if spec.alarm_topic_arn and not re.match(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$",
                                             spec.alarm_topic_arn):
        check.add("alarm_topic_arn", "not an SNS topic ARN",
                  "give arn:aws:sns:REGION:ACCOUNT:NAME, or leave it empty")
    seen: set[str] = set()
    for tag in spec.tags:
        key, sep, value = tag.partition("=")
        key = key.strip()
        if not sep or not key:
            check.add("tags", f"{tag!r} is not 'Key=Value'", "write each tag as 'Key=Value'", tag)
        elif key.lower().startswith("aws:"):
            check.add("tags", f"tag key {key!r} uses the reserved 'aws:' prefix", "choose another key", tag)
        elif len(key) > 128 or len(value.strip()) > 256:
            check.add("tags", "tag keys are at most 128 and values 256 characters", "shorten it", tag)
        elif key in seen:
            check.add("tags", f"tag key {key!r} is given twice", "give each key once", tag)
        seen.add(key)
    if len(spec.tags) > 45:
        check.add("tags", "more than 45 tags (AWS allows 50, the pipeline adds its own)", "use fewer tags")


def readable_bytes(spec: PipelineSpec) -> int | None:
    """Bytes one run can read within the job timeout (None while the settings it needs are themselves invalid)."""
    timeout, workers = spec.job_timeout_minutes, spec.worker_count
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (timeout, workers)):
        return None
    return int(max(0.0, timeout * 60 - RUN_START_S) * workers * READ_MB_PER_S_PER_WORKER * 1_000_000)


def full_batch_s(spec: PipelineSpec) -> float:
    """A full batch's run time at the simulator's run-time model: one start, then ``batchMaxFiles`` files."""
    return RUN_START_S + spec.batch_max_files * FILE_RUN_S


def spec_warnings(spec: PipelineSpec) -> list[str]:
    """What is legal but probably not meant: a job timeout too short for a full batch at the simulator's
    run-time model (the run is killed mid-batch; the file it was on retries alone, so nothing is lost, but every
    full batch pays a timeout)."""
    notes: list[str] = []
    if spec.batch_max_files > 1 and full_batch_s(spec) > spec.job_timeout_s:
        notes.append(
            f"{PROJECT}:jobTimeoutMinutes ({spec.job_timeout_minutes}) is shorter than a full batch of "
            f"{PROJECT}:batchMaxFiles ({spec.batch_max_files}) files at the simulator's run-time model "
            f"({RUN_START_S:g} s start + {FILE_RUN_S:g} s a file = {full_batch_s(spec):.0f} s): raise "
            "jobTimeoutMinutes or lower batchMaxFiles")
    if spec.batch_window_seconds and spec.batch_max_files == 1:
        notes.append(f"{PROJECT}:batchWindowSeconds ({spec.batch_window_seconds}) has no effect with "
                     f"{PROJECT}:batchMaxFiles 1 (a run takes one file: there is no batch to wait for)")
    return notes
