"""The one description of a pipeline that every part of landing-pipeline reads.

Components build resources from it, the Lambdas receive its runtime part as
environment variables, and the simulator and emulator load it from the very
stack file a user deploys. Keeping it Pulumi-free lets it ship inside the
Lambda zip. Each setting is declared once, below, with its default and
description; ``Pulumi.yaml`` mirrors that table and a test keeps them in step.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from landing_pipeline.runtime.contract import ENV_PREFIX, FEEDS_ENV_MAX_BYTES, PROJECT
from landing_pipeline.runtime.errors import Problem, SpecError
from landing_pipeline.runtime.values import Frozen

if TYPE_CHECKING:   # runtime.feeds is imported where feeds are read or written: a stack without feeds never needs it
    from landing_pipeline.runtime.feeds import Feed

SQS_MAX_VISIBILITY_S = 12 * 60 * 60
LAMBDA_MAX_TIMEOUT_S = 900
RECONCILER_MAX_TIMEOUT_S = 300
QUEUE_VISIBILITY_FACTOR = 6
"""AWS asks for a queue visibility timeout of at least six times the consuming function's timeout."""

GroupingRuleName = Literal["default", "regex", "filename", "fields"]
FallbackName = Literal["filename", "reject"]
OrderingScope = Literal["group", "folder", "global"]
OnFailure = Literal["continue", "block"]
OrderBy = Literal["landing_time", "file_name"]
LateFiles = Literal["run", "park"]
UnmatchedFiles = Literal["default", "reject"]
Kind = Literal["string", "integer", "boolean", "array", "objects"]

LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                      2557, 2922, 3288, 3653)
WORKER_TYPES = ("G.025X", "G.1X", "G.2X", "G.4X", "G.8X", "Z.2X")
JOB_TYPES = ("glueetl",)
SCHEMA_TYPES = ("string", "int", "bigint", "double", "float", "boolean", "date", "timestamp")


def _setting(default: Any, description: str, *, runtime: bool = False) -> Any:
    """Declare a spec field: its default, the text users see, and whether the Lambdas need it."""
    factory_default = default
    if isinstance(default, tuple):
        return field(default_factory=lambda: factory_default,
                     metadata={"description": description, "runtime": runtime})
    return field(default=default, metadata={"description": description, "runtime": runtime})


@dataclass(frozen=True)
class PipelineSpec:
    """An immutable, validated description of one ingestion pipeline."""

    # --- landing zone -----------------------------------------------------------------------
    key_prefix: str = _setting("", "Only keys under this prefix are ingested (empty: the whole bucket).",
                               runtime=True)
    key_suffixes: tuple[str, ...] = _setting(
        (), "Only keys ending in one of these suffixes are ingested (empty: any).", runtime=True)
    ignore_empty_objects: bool = _setting(True, "Ignore zero-byte objects instead of processing them.",
                                          runtime=True)
    ignore_folder_markers: bool = _setting(True, "Ignore folder markers (keys ending in '/').", runtime=True)
    existing_bucket_name: str = _setting(
        "", "Use this existing bucket as the landing zone instead of creating one (empty: create one).")
    bucket_kms_key_arn: str = _setting(
        "", "Customer KMS key for the buckets' default encryption (empty: S3-managed keys, SSE-S3).")
    landed_object_expiration_days: int = _setting(
        0, "Expire landed objects this many days after creation (0: keep them).")
    # --- grouping -----------------------------------------------------------------------------
    grouping_rule: GroupingRuleName = _setting(
        "default", "How a file name becomes its group: default (drop extension and trailing _HHMMSS), "
        "regex, filename, or fields.", runtime=True)
    grouping_pattern: str = _setting(
        "", "For grouping_rule=regex: a regular expression with a named group (?P<group>...), "
        "matched against the file name.", runtime=True)
    grouping_fields: int = _setting(2, "For grouping_rule=fields: how many leading fields form the group.",
                                    runtime=True)
    grouping_separator: str = _setting("_", "For grouping_rule=fields: the field separator.", runtime=True)
    grouping_fallback: FallbackName = _setting(
        "filename", "When a key does not match the rule: use its file name as the group, or reject it "
        "to the intake DLQ with the reason.", runtime=True)
    ordering_scope: OrderingScope = _setting(
        "group", "What is kept in order: each group (group), each group per folder (folder), or every "
        "file of the pipeline in one sequence (global).", runtime=True)
    # --- ordered processing -------------------------------------------------------------------
    order_by: OrderBy = _setting(
        "landing_time", "What 'in the order they landed' means for a group's files: landing_time (the S3 "
        "event's time in whole seconds, then the key, then the sequencer: files of one group landing in the "
        "same second run in key order) or file_name (name order: a name that carries its timestamp sorts in "
        "time, and a backfill runs in name order).", runtime=True)
    settle_seconds: int = _setting(
        30, "A file is not started before it is this many seconds old, so events that EventBridge, the intake "
        "queue or a router retry delayed a little are recorded first (0: start at once). It makes late files "
        "rare; order is kept by the ledger either way.", runtime=True)
    late_files: LateFiles = _setting(
        "run", "A file recorded after a later file of its group has started is late: run it next and count it "
        "(run), or park it as DEAD for an operator to redrive or skip (park).", runtime=True)
    max_parallel_groups: int = _setting(
        4, "Groups allowed to run at once: the dispatcher's maximum concurrency and the Glue job's "
        "MaxConcurrentRuns.", runtime=True)
    max_attempts: int = _setting(
        3, "Glue runs that fail for the file's own reasons before it is DEAD (announced on the dead-files queue); "
        "capacity failures and stops by the pipeline cost no attempt.", runtime=True)
    max_receives: int = _setting(
        0, "The ordered queue's maxReceiveCount: how often one wake-up may be received (a settle wait "
        "receives it again) before it is a poison message in the ordered DLQ; attempts are counted in the "
        "ledger, not here; 0: max(100, 10 x max_attempts).", runtime=True)
    retry_backoff_base_s: int = _setting(60, "Delay before the first retry of a failed run; doubles each "
                                         "attempt.", runtime=True)
    retry_backoff_cap_s: int = _setting(900, "Longest delay between retries.", runtime=True)
    throttle_backoff_s: int = _setting(
        30, "Not read by the v2 runtime (a start refused for Glue's request rate waits min(30 s, "
        "retryBackoffBaseS); one refused for want of a slot waits for the slot handoff); accepted so stack "
        "files that set it stay valid.", runtime=True)
    on_failure: OnFailure = _setting(
        "continue", "When a file is DEAD: the group goes on with its next file (continue) or waits for an "
        "operator to redrive or skip it (block).", runtime=True)
    batch_max_files: int = _setting(
        10, "Most files one Glue run takes from its group, earliest first (1: one run per file; at most 25, so the "
        "ledger writes of a batch fit one DynamoDB transaction). A run pays Glue's start, Spark's start and the "
        "1-minute billing minimum once for the whole batch. The default is the measured recommendation: on a "
        "simulated day of 50,000 files of 0.1-5 MB on the prod stack, 10 costs $0.054 a file at a p95 of 4.8 h "
        "against $0.148 and 41.7 h at 1 (with batchWindowSeconds 3600: $0.028, p95 1.9 h); 25 costs the same "
        "there, but a full batch of 25 outlasts a 30-minute jobTimeoutMinutes at the run-time model landing "
        "config warns with (docs/simulator.md, 'Batches: a day of small files').", runtime=True)
    batch_max_bytes: int = _setting(
        1_073_741_824, "Most bytes of landed files one Glue run takes (the head file always runs, however big); "
        "must be readable within jobTimeoutMinutes.", runtime=True)
    batch_window_seconds: int = _setting(
        0, "How long an idle group's head file may wait for more files of its group to fill a batch (0: no wait; "
        "only with batchMaxFiles above 1). Where feeds land small files steadily and an hour's latency is fine, "
        "3600 fills batches that arrivals alone do not (the small-files day: 5.6 files a run instead of 2.8, "
        "half the cost).", runtime=True)
    reconcile_minutes: int = _setting(
        5, "Minutes between the reconciler's passes (EventBridge Scheduler, at least 1): it finishes runs "
        "whose end event was lost, resolves starts with no answer, wakes groups with work and announces dead "
        "files, so a lost Glue event costs at most this long.", runtime=True)
    # --- processing job -----------------------------------------------------------------------
    job_type: str = _setting("glueetl", "Glue job type (glueetl: Spark).")
    glue_version: str = _setting("5.0", "Glue version (5.0: Spark 3.5.4, Python 3.11).")
    worker_type: str = _setting("G.1X", "Glue worker type.")
    worker_count: int = _setting(2, "Glue workers per run (at least 2 for Spark jobs).")
    job_timeout_minutes: int = _setting(
        60, "Longest a Glue run may take (Glue stops it then: a TIMEOUT, which costs the file an attempt).",
        runtime=True)
    script_location: str = _setting("", "s3:// URI of your own job script (empty: the bundled ingest job).")
    merge_keys: tuple[str, ...] = _setting(
        (), "Columns identifying a row; when set, each file is merged into its group's snapshot "
        "(last row per key wins).", runtime=True)
    schema: tuple[str, ...] = _setting(
        (), "Declared columns as 'name:type' (types: string, int, bigint, double, float, boolean, date, "
        "timestamp, decimal(p,s)); rows that do not fit go to quarantine.", runtime=True)
    feeds: tuple[Feed, ...] = _setting(
        (), "Datasets of the landing zone, each with its own match, format, schema, mergeKeys, table and "
        "onFailure: a list of mappings (name, match, matchOn group|file_name, syntax glob|regex, format "
        "auto|csv|jsonl|parquet, schema, mergeKeys, table, onFailure). The first feed that matches a file is "
        "its feed; feeds some name could match twice are refused. Empty: every file uses the stack-wide schema "
        "and mergeKeys (docs/configuration.md, 'Feeds').", runtime=True)
    unmatched_files: UnmatchedFiles = _setting(
        "default", "A file no feed matches: processed with the stack-wide schema and mergeKeys (default), or "
        "parked in the intake DLQ with the reason (reject). Only with feeds.", runtime=True)
    output_prefix: str = _setting("processed/", "Prefix in the output bucket for processed Parquet.",
                                  runtime=True)
    quarantine_prefix: str = _setting("quarantine/", "Prefix in the output bucket for rejected rows.",
                                      runtime=True)
    # --- functions ----------------------------------------------------------------------------
    router_timeout_s: int = _setting(30, "Router Lambda timeout.")
    dispatcher_timeout_s: int = _setting(
        60, "Dispatcher Lambda timeout; a start left unanswered is resolved from Glue only after it plus the "
        "SDK's read timeout have passed.", runtime=True)
    completion_timeout_s: int = _setting(30, "Completion Lambda timeout.")
    hold_margin_s: int = _setting(
        900, "Not read by the v2 runtime (no message is held for a run); accepted so stack files that set it "
        "stay valid.", runtime=True)
    lambda_memory_mb: int = _setting(256, "Memory of each Lambda function.")
    log_retention_days: int = _setting(30, "Retention of every log group the pipeline creates.")
    # --- monitoring ---------------------------------------------------------------------------
    enable_alarms: bool = _setting(True, "Create CloudWatch alarms.")
    enable_dashboard: bool = _setting(True, "Create a CloudWatch dashboard.")
    oldest_message_alarm_s: int = _setting(
        3600, "Alarm when the ordered queue's oldest wake-up is older than this (the dispatcher is not "
        "taking them).")
    dlq_depth_alarm_threshold: int = _setting(
        0, "Alarm when a DLQ or the dead-files queue holds more messages than this.")
    alarm_email: str = _setting("", "Subscribe this address to the alarm topic (empty: no subscription).")
    alarm_topic_arn: str = _setting("", "Send alarms to this existing SNS topic (empty: create one if "
                                    "alarm_email is set).")
    tags: tuple[str, ...] = _setting((), "Tags for every taggable resource, as 'Key=Value'.")

    def __post_init__(self) -> None:
        from landing_pipeline.runtime.spec_validation import validate  # the rules live beside, in their own module

        problems = validate(self)
        if problems:
            raise SpecError(problems)

    # --- derived values -----------------------------------------------------------------------
    @property
    def receive_ceiling(self) -> int:
        """maxReceiveCount of the ordered queue. Attempts are counted in the ledger and the completion
        handler parks a file whose attempts are used up; this ceiling only stops a poison message."""
        return self.max_receives or max(100, 10 * self.max_attempts)

    @property
    def job_timeout_s(self) -> int:
        return self.job_timeout_minutes * 60

    @property
    def hold_visibility_s(self) -> int:
        """How long a started file's message stays invisible (the hold)."""
        return self.job_timeout_s + self.hold_margin_s

    @property
    def glue_max_concurrent_runs(self) -> int:
        return self.max_parallel_groups

    @property
    def reconciler_timeout_s(self) -> int:
        """The reconciler function's timeout: its interval, at most 5 minutes. A pass is a handful of calls per
        due group; ending before the next pass is due keeps passes from piling up."""
        return min(RECONCILER_MAX_TIMEOUT_S, 60 * self.reconcile_minutes)

    def queue_visibility_s(self, function_timeout_s: int) -> int:
        return QUEUE_VISIBILITY_FACTOR * function_timeout_s

    def retry_backoff_s(self, attempt: int) -> int:
        """Visibility delay after failed attempt number ``attempt`` (1-based): exponential, capped."""
        delay = self.retry_backoff_base_s * (2 ** max(0, attempt - 1))
        return int(min(delay, self.retry_backoff_cap_s, SQS_MAX_VISIBILITY_S))

    @property
    def tag_map(self) -> dict[str, str]:
        return dict(_split_tag(tag) for tag in self.tags)

    @property
    def schema_columns(self) -> list[tuple[str, str]]:
        return [_split_column(column) for column in self.schema]

    def runtime_part(self) -> dict[str, Any]:
        """The settings the Lambdas need, as plain values."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.metadata["runtime"]}

    def replace(self, **changes: Any) -> PipelineSpec:
        return dataclasses.replace(self, **changes)


# --------------------------------------------------------------------------------------------------
# Settings table: config keys, descriptions and types, derived from the dataclass once.


class Setting(Frozen):
    """One setting as users and the components see it: its stack-file key, kind, default and description."""

    _fields = __slots__ = ("name", "config_key", "kind", "default", "description", "runtime")
    name: str
    config_key: str
    kind: Kind
    default: Any
    description: str
    runtime: bool

    def __init__(self, name: str, config_key: str, kind: Kind, default: Any, description: str,
                 runtime: bool) -> None:
        self._init(name, config_key, kind, default, description, runtime)

    @property
    def qualified_key(self) -> str:
        return f"{PROJECT}:{self.config_key}"

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_KINDS: dict[str, Kind] = {
    "str": "string", "int": "integer", "bool": "boolean", "tuple[str, ...]": "array", "tuple[Feed, ...]": "objects",
}


def _kind_of(annotation: str) -> Kind:
    if annotation in _KINDS:
        return _KINDS[annotation]
    return "string"  # the Literal aliases are strings


def settings() -> list[Setting]:
    """Every setting of the spec, in declaration order."""
    result = []
    for f in dataclasses.fields(PipelineSpec):
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc,operator]
        result.append(Setting(name=f.name, config_key=_camel(f.name), kind=_kind_of(str(f.type)),
                              default=list(default) if isinstance(default, tuple) else default,
                              description=f.metadata["description"], runtime=f.metadata["runtime"]))
    return result


SETTINGS_BY_NAME = {s.name: s for s in settings()}
SETTINGS_BY_KEY = {s.config_key: s for s in SETTINGS_BY_NAME.values()}
"""Both tables hold the same ``Setting`` s, built once: every cold start imports this module."""


# --------------------------------------------------------------------------------------------------
# Errors


def _split_tag(tag: str) -> tuple[str, str]:
    key, _, value = tag.partition("=")
    return key.strip(), value.strip()


def _split_column(column: str) -> tuple[str, str]:
    name, _, kind = column.partition(":")
    return name.strip(), kind.strip().lower()


# --------------------------------------------------------------------------------------------------
# Environment variables: how the runtime part reaches the Lambdas


def to_env(spec: PipelineSpec) -> dict[str, str]:
    """Encode the runtime part as environment variables (tuples as JSON lists)."""
    env = {}
    for name, value in spec.runtime_part().items():
        setting = SETTINGS_BY_NAME[name]
        if setting.kind == "objects":
            from landing_pipeline.runtime.feeds import feeds_to_json

            text = feeds_to_json(value)
            if len(text.encode()) <= FEEDS_ENV_MAX_BYTES:   # else the component hands them over in S3
                env[setting.env_var] = text
        elif isinstance(value, tuple):
            env[setting.env_var] = json.dumps(list(value))
        elif isinstance(value, bool):
            env[setting.env_var] = "true" if value else "false"
        else:
            env[setting.env_var] = str(value)
    return env


def from_env(environ: Mapping[str, str]) -> PipelineSpec:
    """Rebuild a spec from the variables ``to_env`` wrote; settings the Lambdas do not get keep defaults."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for setting in SETTINGS_BY_NAME.values():   # the table built at import: a cold start need not build it again
        if setting.env_var in environ:
            raw = environ[setting.env_var]
            try:
                values[setting.name] = coerce(setting, raw)
            except ValueError as exc:
                problems.append(Problem(setting.config_key, raw, str(exc),
                                        f"redeploy so {setting.env_var} is written by the pipeline"))
    if problems:
        raise SpecError(problems)
    return PipelineSpec(**values)


class FeedsInvalid(ValueError):
    """Feeds that did not parse, with every problem (each names the feed and the field)."""

    def __init__(self, problems: list[Problem], feeds: tuple[Feed, ...] = ()):
        super().__init__("; ".join(f"{p.setting}: {p.message}" for p in problems))
        self.problems = problems
        self.feeds = feeds
        """The feeds that did parse (a wrong optional field left at its default), still worth checking."""


def coerce(setting: Setting, raw: Any) -> Any:
    """Turn a config value (Pulumi hands every value over as a string) into the setting's type."""
    if setting.kind == "integer":
        if isinstance(raw, bool):
            raise ValueError("expected a whole number, got a boolean")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        try:
            return int(str(raw).strip())
        except ValueError:
            raise ValueError("expected a whole number") from None
    if setting.kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        raise ValueError("expected true or false")
    if setting.kind == "objects":
        from landing_pipeline.runtime.feeds import parse_feeds

        feeds, problems = parse_feeds(raw)
        if problems:
            raise FeedsInvalid(problems, feeds)
        return feeds
    if setting.kind == "array":
        if isinstance(raw, str):
            text = raw.strip()
            if not text:
                return ()
            if text.startswith("["):
                try:
                    raw = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"not a valid JSON list ({exc.msg})") from None
            else:
                raw = [part for part in (p.strip() for p in text.split(",")) if part]
        if not isinstance(raw, list | tuple):
            raise ValueError("expected a list of strings")
        if not all(isinstance(item, str | int | float) and not isinstance(item, bool) for item in raw):
            raise ValueError("expected a list of strings")
        return tuple(str(item) for item in raw)
    if raw is None:
        return ""
    if isinstance(raw, dict | list):
        raise ValueError("expected a single value, not a " + type(raw).__name__)
    return str(raw)
