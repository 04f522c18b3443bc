"""The inputs of ``IngestionPipeline``: one per setting of the pipeline spec.

A ``TypedDict`` with a docstring under each field is what Pulumi's component
provider reads to build the schema other languages see (the docstring becomes
the input's description), and a plain dict is what a component hosted for
another language receives. The fields mirror ``runtime.spec.PipelineSpec``
one to one (same names; the schema spells them camelCase, exactly like the
stack config keys), so a stack's config and a component's args are the same
thing. ``tests/components/test_schema.py`` keeps this file in step with the
spec; regenerate the field block with ``python -m components.args``.

Every input is plain (not an ``Input[...]``): the values decide which resources
exist and how they are wired, so they must be known when the program runs.
"""

import dataclasses
import json
from collections.abc import Mapping
from typing import Any, TypedDict, cast

from landing_pipeline.runtime.contract import PROJECT
from landing_pipeline.runtime.spec import PipelineSpec, Setting, settings
from landing_pipeline.runtime.spec_loader import spec_from_config

_PYTHON_TYPES = {"string": "str", "integer": "int", "boolean": "bool", "array": "list[str]",
                 "objects": "list[FeedArgs]"}


class FeedArgs(TypedDict, total=False):
    """One feed of ``feeds`` (runtime/feeds.py): the keys of the stack file's mappings."""

    name: str
    """The feed's name: lowercase letters, digits and underscores (the default table name)."""
    match: str
    """The pattern claiming the feed's files: a glob (default) or, with syntax regex, a regular expression."""
    matchOn: str
    """What the pattern is matched against: group (default) or file_name."""
    syntax: str
    """glob (default: fnmatch, case-sensitive, the whole name) or regex (a full match)."""
    format: str
    """auto (from the suffix, default), csv, jsonl or parquet."""
    schema: list[str]
    """Declared columns as 'name:type' (types: string, int, bigint, double, float, boolean, date, timestamp, decimal(p,s)); rows that do not fit go to quarantine. Default: []."""  # noqa: E501
    mergeKeys: list[str]
    """The feed's merge keys (empty: no snapshot merge)."""
    table: str
    """The feed's catalog table (empty: its name)."""
    onFailure: str
    """continue or block for this feed's files (empty: the stack's onFailure)."""


class IngestionPipelineArgs(TypedDict, total=False):
    """Settings of one ingestion pipeline; every one is optional and defaults as documented."""

    key_prefix: str
    """Only keys under this prefix are ingested (empty: the whole bucket). Default: ""."""
    key_suffixes: list[str]
    """Only keys ending in one of these suffixes are ingested (empty: any). Default: []."""
    ignore_empty_objects: bool
    """Ignore zero-byte objects instead of processing them. Default: true."""
    ignore_folder_markers: bool
    """Ignore folder markers (keys ending in '/'). Default: true."""
    existing_bucket_name: str
    """Use this existing bucket as the landing zone instead of creating one (empty: create one). Default: ""."""
    bucket_kms_key_arn: str
    """Customer KMS key for the buckets' default encryption (empty: S3-managed keys, SSE-S3). Default: ""."""
    landed_object_expiration_days: int
    """Expire landed objects this many days after creation (0: keep them). Default: 0."""
    grouping_rule: str
    """How a file name becomes its group: default (drop extension and trailing _HHMMSS), regex, filename, or fields. Default: "default"."""  # noqa: E501
    grouping_pattern: str
    """For grouping_rule=regex: a regular expression with a named group (?P<group>...), matched against the file name. Default: ""."""  # noqa: E501
    grouping_fields: int
    """For grouping_rule=fields: how many leading fields form the group. Default: 2."""
    grouping_separator: str
    """For grouping_rule=fields: the field separator. Default: "_"."""
    grouping_fallback: str
    """When a key does not match the rule: use its file name as the group, or reject it to the intake DLQ with the reason. Default: "filename"."""  # noqa: E501
    ordering_scope: str
    """What is kept in order: each group (group), each group per folder (folder), or every file of the pipeline in one sequence (global). Default: "group"."""  # noqa: E501
    order_by: str
    """What 'in the order they landed' means for a group's files: landing_time (the S3 event's time in whole seconds, then the key, then the sequencer: files of one group landing in the same second run in key order) or file_name (name order: a name that carries its timestamp sorts in time, and a backfill runs in name order). Default: "landing_time"."""  # noqa: E501
    settle_seconds: int
    """A file is not started before it is this many seconds old, so events that EventBridge, the intake queue or a router retry delayed a little are recorded first (0: start at once). It makes late files rare; order is kept by the ledger either way. Default: 30."""  # noqa: E501
    late_files: str
    """A file recorded after a later file of its group has started is late: run it next and count it (run), or park it as DEAD for an operator to redrive or skip (park). Default: "run"."""  # noqa: E501
    max_parallel_groups: int
    """Groups allowed to run at once: the dispatcher's maximum concurrency and the Glue job's MaxConcurrentRuns. Default: 4."""  # noqa: E501
    max_attempts: int
    """Glue runs that fail for the file's own reasons before it is DEAD (announced on the dead-files queue); capacity failures and stops by the pipeline cost no attempt. Default: 3."""  # noqa: E501
    max_receives: int
    """The ordered queue's maxReceiveCount: how often one wake-up may be received (a settle wait receives it again) before it is a poison message in the ordered DLQ; attempts are counted in the ledger, not here; 0: max(100, 10 x max_attempts). Default: 0."""  # noqa: E501
    retry_backoff_base_s: int
    """Delay before the first retry of a failed run; doubles each attempt. Default: 60."""
    retry_backoff_cap_s: int
    """Longest delay between retries. Default: 900."""
    throttle_backoff_s: int
    """Not read by the v2 runtime (a start refused for Glue's request rate waits min(30 s, retryBackoffBaseS); one refused for want of a slot waits for the slot handoff); accepted so stack files that set it stay valid. Default: 30."""  # noqa: E501
    on_failure: str
    """When a file is DEAD: the group goes on with its next file (continue) or waits for an operator to redrive or skip it (block). Default: "continue"."""  # noqa: E501
    batch_max_files: int
    """Most files one Glue run takes from its group, earliest first (1: one run per file; at most 25, so the ledger writes of a batch fit one DynamoDB transaction). A run pays Glue's start, Spark's start and the 1-minute billing minimum once for the whole batch. The default is the measured recommendation: on a simulated day of 50,000 files of 0.1-5 MB on the prod stack, 10 costs $0.054 a file at a p95 of 4.8 h against $0.148 and 41.7 h at 1 (with batchWindowSeconds 3600: $0.028, p95 1.9 h); 25 costs the same there, but a full batch of 25 outlasts a 30-minute jobTimeoutMinutes at the run-time model landing config warns with (docs/simulator.md, 'Batches: a day of small files'). Default: 10."""  # noqa: E501
    batch_max_bytes: int
    """Most bytes of landed files one Glue run takes (the head file always runs, however big); must be readable within jobTimeoutMinutes. Default: 1073741824."""  # noqa: E501
    batch_window_seconds: int
    """How long an idle group's head file may wait for more files of its group to fill a batch (0: no wait; only with batchMaxFiles above 1). Where feeds land small files steadily and an hour's latency is fine, 3600 fills batches that arrivals alone do not (the small-files day: 5.6 files a run instead of 2.8, half the cost). Default: 0."""  # noqa: E501
    reconcile_minutes: int
    """Minutes between the reconciler's passes (EventBridge Scheduler, at least 1): it finishes runs whose end event was lost, resolves starts with no answer, wakes groups with work and announces dead files, so a lost Glue event costs at most this long. Default: 5."""  # noqa: E501
    job_type: str
    """Glue job type (glueetl: Spark). Default: "glueetl"."""
    glue_version: str
    """Glue version (5.0: Spark 3.5.4, Python 3.11). Default: "5.0"."""
    worker_type: str
    """Glue worker type. Default: "G.1X"."""
    worker_count: int
    """Glue workers per run (at least 2 for Spark jobs). Default: 2."""
    job_timeout_minutes: int
    """Longest a Glue run may take (Glue stops it then: a TIMEOUT, which costs the file an attempt). Default: 60."""
    script_location: str
    """s3:// URI of your own job script (empty: the bundled ingest job). Default: ""."""
    merge_keys: list[str]
    """Columns identifying a row; when set, each file is merged into its group's snapshot (last row per key wins). Default: []."""  # noqa: E501
    schema: list[str]
    """Declared columns as 'name:type' (types: string, int, bigint, double, float, boolean, date, timestamp, decimal(p,s)); rows that do not fit go to quarantine. Default: []."""  # noqa: E501
    feeds: list[FeedArgs]
    """Datasets of the landing zone, each with its own match, format, schema, mergeKeys, table and onFailure: a list of mappings (name, match, matchOn group|file_name, syntax glob|regex, format auto|csv|jsonl|parquet, schema, mergeKeys, table, onFailure). The first feed that matches a file is its feed; feeds some name could match twice are refused. Empty: every file uses the stack-wide schema and mergeKeys (docs/configuration.md, 'Feeds'). Default: []."""  # noqa: E501
    unmatched_files: str
    """A file no feed matches: processed with the stack-wide schema and mergeKeys (default), or parked in the intake DLQ with the reason (reject). Only with feeds. Default: "default"."""  # noqa: E501
    output_prefix: str
    """Prefix in the output bucket for processed Parquet. Default: "processed/"."""
    quarantine_prefix: str
    """Prefix in the output bucket for rejected rows. Default: "quarantine/"."""
    router_timeout_s: int
    """Router Lambda timeout. Default: 30."""
    dispatcher_timeout_s: int
    """Dispatcher Lambda timeout; a start left unanswered is resolved from Glue only after it plus the SDK's read timeout have passed. Default: 60."""  # noqa: E501
    completion_timeout_s: int
    """Completion Lambda timeout. Default: 30."""
    hold_margin_s: int
    """Not read by the v2 runtime (no message is held for a run); accepted so stack files that set it stay valid. Default: 900."""  # noqa: E501
    lambda_memory_mb: int
    """Memory of each Lambda function. Default: 256."""
    log_retention_days: int
    """Retention of every log group the pipeline creates. Default: 30."""
    enable_alarms: bool
    """Create CloudWatch alarms. Default: true."""
    enable_dashboard: bool
    """Create a CloudWatch dashboard. Default: true."""
    oldest_message_alarm_s: int
    """Alarm when the ordered queue's oldest wake-up is older than this (the dispatcher is not taking them). Default: 3600."""  # noqa: E501
    dlq_depth_alarm_threshold: int
    """Alarm when a DLQ or the dead-files queue holds more messages than this. Default: 0."""
    alarm_email: str
    """Subscribe this address to the alarm topic (empty: no subscription). Default: ""."""
    alarm_topic_arn: str
    """Send alarms to this existing SNS topic (empty: create one if alarm_email is set). Default: ""."""
    tags: list[str]
    """Tags for every taggable resource, as 'Key=Value'. Default: []."""


def field_docstring(setting: Setting) -> str:
    """The description an input carries in the schema: the spec's text and its default."""
    return f"{setting.description} Default: {json.dumps(setting.default)}."


def render_fields() -> str:
    """The body of ``IngestionPipelineArgs`` as it must read (used by the test and to regenerate)."""
    lines = []
    for setting in settings():
        doc = field_docstring(setting).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
        docline = f'    """{doc}"""'
        if len(docline) > 120:
            docline += "  # noqa: E501"
        lines += [f"    {setting.name}: {_PYTHON_TYPES[setting.kind]}", docline]
    return "\n".join(lines)


def spec_from_args(args: Mapping[str, Any] | None) -> PipelineSpec:
    """Validate component args exactly like stack config: same coercion, same messages, did-you-mean.

    Keys may be snake_case (Python) or camelCase (the schema's spelling); ``None`` means "default".
    """
    config = {f"{PROJECT}:{_camel(key)}": value for key, value in (args or {}).items() if value is not None}
    return spec_from_config(config)


def args_from_spec(spec: PipelineSpec) -> IngestionPipelineArgs:
    """The args that rebuild ``spec`` (lists for tuples), for wiring a spec into the component."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        if f.name == "feeds":
            from landing_pipeline.runtime.feeds import feeds_to_json

            value = json.loads(feeds_to_json(value))
        values[f.name] = list(value) if isinstance(value, tuple) else value
    return cast(IngestionPipelineArgs, values)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


if __name__ == "__main__":  # python -m components.args > /tmp/fields.txt, then paste into the class body
    print(render_fields())
