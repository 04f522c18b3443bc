"""The names the parts of the pipeline agree on, defined once.

The components write them into resources, the handlers read them back, the emulator deploys and drives
them and the simulator models them; a name restated in two packages drifts. Pulumi-free and
dependency-free so it ships in the Lambda archive and the Glue job's library.
"""

from __future__ import annotations

PROJECT = "landing-pipeline"
"""The Pulumi project name, and the namespace of every setting (``landing-pipeline:maxParallelGroups``)."""

INPUT_DELETED = "input deleted:"
"""How a run's error starts when its input was checked and is gone (the job's HeadObject, the emulator's
GetObject of the version): the completion path makes such a file DEAD at once, and only such a file
(runtime/outcomes.py); a Spark PATH_NOT_FOUND alone may name another path (a snapshot version)."""

# --- environment of the Lambda functions -------------------------------------------------------------

ENV_PREFIX = "LANDING_"
"""The prefix of every variable the components set on the functions: the spec's runtime settings
(``LANDING_MAX_ATTEMPTS`` ..., written by ``spec.to_env``) and the resource names below."""

ORDERED_QUEUE_URL_ENV = "LANDING_ORDERED_QUEUE_URL"
"""URL of the SQS FIFO ordered queue: the router sends to it, the dispatcher and ops change visibility in it."""
ORDERED_DLQ_URL_ENV = "LANDING_ORDERED_DLQ_URL"
"""URL of the ordered queue's DLQ: where the completion handler parks a dead file's message (and ops redrive)."""
INTAKE_DLQ_URL_ENV = "LANDING_INTAKE_DLQ_URL"
"""URL of the intake DLQ: where the router parks an event it can never route."""
LEDGER_TABLE_ENV = "LANDING_LEDGER_TABLE"
"""Name of the DynamoDB ledger table every handler and ``landing ops`` reads and writes."""
JOB_NAME_ENV = "LANDING_JOB_NAME"
"""Name of the Glue job the dispatcher starts runs of (and completion events must name to count)."""
OUTPUT_BUCKET_ENV = "LANDING_OUTPUT_BUCKET"
"""Name of the bucket the job's output, quarantine, manifest and snapshot locations are in."""

DEAD_FILES_QUEUE_URL_ENV = "LANDING_DEAD_FILES_QUEUE_URL"
"""URL of the dead-files FIFO queue: one message per death of a file (dedup id ``<file id>-dead-<n>``),
sent by whoever records the death and, if that was lost, by the reconciler (F5)."""

CATALOG_DATABASE_ENV = "LANDING_CATALOG_DATABASE"
"""Name of the pipeline's Glue database. Set only for a stack with feeds (it has tables then); the completion
handler and the reconciler register each group's partitions there as runs end (runtime/catalog.py)."""

FEEDS_ENV_MAX_BYTES = 2048
"""The most the feeds may take in the functions' environment (JSON): Lambda allows 4 KB for all variables, and
the other settings and names take about 2 KB. Longer feeds go to an S3 document (``FEEDS_URI_ENV``)."""
FEEDS_URI_ENV = "LANDING_FEEDS_URI"
"""Feeds too long for the functions' environment (``FEEDS_ENV_MAX_BYTES``): ``s3://<output bucket>/config/
feeds-<digest>.json``, the document the functions read once per cold start instead of ``LANDING_FEEDS``. The
digest names the content, so changed feeds change the variable and every function starts again on them."""

RESOURCE_ENV: dict[str, str] = {
    "ordered_queue_url": ORDERED_QUEUE_URL_ENV, "ordered_dlq_url": ORDERED_DLQ_URL_ENV,
    "intake_dlq_url": INTAKE_DLQ_URL_ENV, "ledger_table": LEDGER_TABLE_ENV, "job_name": JOB_NAME_ENV,
    "output_bucket": OUTPUT_BUCKET_ENV, "dead_files_queue_url": DEAD_FILES_QUEUE_URL_ENV,
}
"""``RuntimeContext`` field -> the variable that carries it: how a handler names a missing one, and what the
components must set (a test checks the functions get exactly these)."""

# --- the ledger table ----------------------------------------------------------------------------------

LEDGER_KEY = "pk"
"""The table's only key attribute (hash key, string): ``file#<file_id>`` or ``run#<run_id>``."""
FILE_PREFIX = "file#"
"""Key prefix of a file version's item."""
RUN_PREFIX = "run#"
"""Key prefix of a Glue run's item (run id -> file and attempt: the completion path's correlation)."""

GROUP_INDEX = "by_group"
"""GSI of a group's files in received order (ops listings, the blocked-group check)."""
GROUP_INDEX_HASH = "group"
GROUP_INDEX_RANGE = "received_seq"

WAIT_INDEX = "by_waiting"
"""Sparse GSI of the files waiting for a Glue slot, oldest first: the run that ends next wakes its head."""
WAIT_INDEX_HASH = "wait_pool"
WAIT_INDEX_RANGE = "waiting_since"
WAIT_HANDLE = "wait_handle"
"""Attribute holding the receipt handle of a waiting file's held message (made visible to wake it)."""
WAIT_INDEX_PROJECTION = ("file_id", WAIT_HANDLE)
"""The non-key attributes ``by_waiting`` projects: all a wake-up reads, so the index's writes stay small."""
WAIT_POOL = "glue"
"""The one value of ``wait_pool``: every waiter shares one partition of ``by_waiting`` (one Glue job)."""

# --- the ledger table, v2 (design-v2.md; docs/runtime.md "The ledger") -------------------------------------
# One table, key (pk, sk). A group's items share one partition, so one strongly consistent Query returns the
# group item and its open files in order: every safety decision reads only base-table items (F4).

LEDGER_SORT_KEY = "sk"
"""The table's range key (string). The hash key stays ``LEDGER_KEY`` (``pk``)."""
GROUP_PK_PREFIX = "g#"
"""``pk`` of a group's partition: ``g#<group>``."""
GROUP_ITEM_SK = "#group"
"""``sk`` of the group item (seq, version, lease, state, wake_pending, next_check_at); sorts before files."""
FILE_SK_PREFIX = "f#"
"""``sk`` prefix of an open file item: ``f#<order key>\x1f<file id>`` (runtime/order.py)."""
POINTER_PK_PREFIX = "id#"
"""``pk`` of a file id's pointer item (dedup, run correlation, and the file's history once finished)."""
POINTER_SK = "#file"
RUN_PK_PREFIX = "run#"
"""``pk`` of a run item: Glue run id -> group and run token (how a completion event finds its lease)."""
RUN_SK = "#run"
SLOTS_PK = "slots"
"""``pk`` of the Glue slot partition: the counter item (``SLOTS_COUNTER_SK``) and the line of groups
waiting for a slot (``sk`` = ``w#<waiting since>#<group>``, oldest first)."""
SLOTS_COUNTER_SK = "#count"
WAITER_SK_PREFIX = "w#"

CHECK_INDEX = "by_check"
"""Sparse GSI of group items by ``next_check_at``: the reconciler's list of groups to look at. A hint only:
each group is re-read strongly before anything is done."""
CHECK_INDEX_HASH = "check_pool"
"""String, always ``CHECK_POOL`` on a group item that has a ``next_check_at`` (absent: not listed)."""
CHECK_INDEX_RANGE = "next_check_at"
"""Number, epoch seconds."""
CHECK_POOL = "due"
CHECK_INDEX_PROJECTION = ("group",)

HISTORY_INDEX = "by_group_files"
"""GSI of pointer items by group and sort key: ``landing status`` listings only, never a safety decision."""
HISTORY_INDEX_HASH = "group"
HISTORY_INDEX_RANGE = "sort_key"

LEDGER_TABLE_V2: dict[str, object] = {
    "hash_key": LEDGER_KEY, "range_key": LEDGER_SORT_KEY,
    "attributes": {LEDGER_KEY: "S", LEDGER_SORT_KEY: "S", CHECK_INDEX_HASH: "S", CHECK_INDEX_RANGE: "N",
                   HISTORY_INDEX_HASH: "S", HISTORY_INDEX_RANGE: "S"},
    "indexes": {
        CHECK_INDEX: {"hash_key": CHECK_INDEX_HASH, "range_key": CHECK_INDEX_RANGE, "projection_type": "INCLUDE",
                      "non_key_attributes": list(CHECK_INDEX_PROJECTION)},
        HISTORY_INDEX: {"hash_key": HISTORY_INDEX_HASH, "range_key": HISTORY_INDEX_RANGE,
                        "projection_type": "ALL"},
    },
}
"""The whole table definition (key schema, attribute types, GSIs) the components build and the tests create."""

RECONCILER_HANDLER = "landing_pipeline.runtime.reconciler.handler"
"""Handler of the reconciler (scheduled every ``reconcileMinutes``)."""
PIPELINE_STOP = "stopped by landing-pipeline"
"""What the pipeline puts in a run it stops: such a STOPPED run costs its file no attempt (F7)."""

# --- the Glue job's arguments --------------------------------------------------------------------------

INPUT_URI_ARG = "--input_uri"
"""The landed object, ``s3://bucket/key``."""
SOURCE_KEY_ARG = "--source_key"
"""The landed object's key (lineage; how the emulator names a run)."""
SOURCE_VERSION_ARG = "--source_version"
"""The landed object's version id, empty when unversioned (lineage; what the job reads)."""
GROUP_ARG = "--group"
"""The file's group (lineage)."""
FILE_ID_ARG = "--file_id"
"""The file version's dedup id: with ``--attempt``, how a run is correlated back to the ledger."""
ATTEMPT_ARG = "--attempt"
"""The attempt number, 1-based."""
OUTPUT_URI_ARG = "--output_uri"
"""Folder of the good rows (Parquet), unique to the file version and replaced on rerun."""
QUARANTINE_URI_ARG = "--quarantine_uri"
"""Folder of the rejected rows, replaced on rerun."""
MANIFEST_URI_ARG = "--manifest_uri"
"""The run's manifest JSON, written last as the mark of a complete run."""
SNAPSHOT_URI_ARG = "--snapshot_uri"
"""Folder of the group's snapshot versions (why runs of one group must never overlap)."""
MERGE_KEYS_ARG = "--merge_keys"
"""Comma-separated key columns of the snapshot merge; empty: no merge."""
SCHEMA_ARG = "--schema"
"""JSON list of ``name:type`` columns."""
FORMAT_ARG = "--format"
"""How the job reads the run's files: csv, jsonl or parquet (a feed's ``format``); absent or ``auto``: from each
file's suffix."""
FEED_ARG = "--feed"
"""The feed the group's files belong to (``feeds``: its schema and merge keys are the ones passed); absent for a
group no feed matches, which gets the stack-wide ones."""
RUN_TOKEN_ARG = "--run_token"
"""The lease's run token: the job claims the lease with it (fencing) and an unanswered start is found by it."""
LEDGER_TABLE_ARG = "--ledger_table"
"""The ledger table the job claims its lease and commits its files in."""
SORT_KEYS_ARG = "--sort_keys"
"""JSON list of the sort keys of the run's files, in order (the job commits each one as it finishes it)."""
BATCH_ARG = "--batch"
"""A batch run's files, head first: a JSON list of per-file objects (``BATCH_FIELDS``). Absent
for a run of one file, which the file arguments above name alone."""
BATCH_FIELDS = ("file_id", "sort_key", "input_uri", "source_key", "source_version", "attempt", "output_uri",
                "quarantine_uri", "manifest_uri")
"""The fields of each file in a batch list (the rest, group, snapshot, schema, lease, is the run's)."""
BATCH_URI_ARG = "--batch_uri"
"""Where the batch list is, as ``{"files": [...]}`` in the output bucket, when ``--batch`` would be too long."""
RUN_MANIFEST_URI_ARG = "--run_manifest_uri"
"""Where a batch run writes its per-file results (rewritten after every file, so a killed run leaves them)."""

FILE_ARGUMENTS = (INPUT_URI_ARG, SOURCE_KEY_ARG, SOURCE_VERSION_ARG, GROUP_ARG, FILE_ID_ARG, ATTEMPT_ARG,
                  OUTPUT_URI_ARG, QUARANTINE_URI_ARG, MANIFEST_URI_ARG, SNAPSHOT_URI_ARG, MERGE_KEYS_ARG, SCHEMA_ARG)
"""The arguments that say which file a run processes and where (``job_arguments``)."""
FENCING_ARGUMENTS = (RUN_TOKEN_ARG, LEDGER_TABLE_ARG, SORT_KEYS_ARG)
"""The arguments of the lease the run belongs to (the job's fencing claims it and commits its files)."""
BATCH_ARGUMENTS = (BATCH_ARG, BATCH_URI_ARG, RUN_MANIFEST_URI_ARG)
"""The arguments of a run of more than one file (``job_args.run_arguments``)."""
FEED_ARGUMENTS = (FEED_ARG, FORMAT_ARG)
"""The arguments of the group's feed (``feeds``): present when a feed matches (``--format`` when not auto)."""
JOB_ARGUMENTS = FILE_ARGUMENTS + FENCING_ARGUMENTS + BATCH_ARGUMENTS + FEED_ARGUMENTS
"""Every argument the dispatcher starts a run with, and so every one the job reads."""

GLUE_JOB_NAME_ARG = "--JOB_NAME"
"""Glue's own argument naming the job (Glue adds it; the emulator adds it as Glue would)."""
GLUE_RUN_ID_ARG = "--JOB_RUN_ID"
"""Glue's own argument carrying the run id."""
EXTRA_PY_FILES_ARG = "--extra-py-files"
"""Default argument of the job: the library archive with ``landing_pipeline.runtime`` (the emulator checks
the stack uploaded what it names)."""

# --- Glue run states -----------------------------------------------------------------------------------

GLUE_SUCCEEDED = "SUCCEEDED"
"""The one final state that releases a group with the file done."""
GLUE_TIMEOUT = "TIMEOUT"
"""Glue stopped the run at the job timeout: in a batch, the file it was on runs alone before it is charged."""
GLUE_FAILURE_STATES = ("FAILED", GLUE_TIMEOUT, "STOPPED", "ERROR")
"""Final states of a run that did not succeed: the file is retried or dead."""
GLUE_FINAL_STATES = (GLUE_SUCCEEDED, *GLUE_FAILURE_STATES)
"""Every state a run ends in: the completion rule matches exactly these."""
GLUE_ALARM_STATES = ("FAILED", "TIMEOUT", "ERROR")
"""The failures the monitoring counts; STOPPED is left out, being what an operator does on purpose."""
GLUE_ACTIVE_STATES = ("STARTING", "RUNNING", "STOPPING", "WAITING")
"""States of a run that has not ended (still holds a Glue slot and its group)."""

# --- EventBridge events --------------------------------------------------------------------------------

S3_SOURCE = "aws.s3"
"""Source of S3's events."""
OBJECT_CREATED = "Object Created"
"""Detail-type of a new object (the intake rule matches it; the router accepts nothing else)."""
GLUE_SOURCE = "aws.glue"
"""Source of Glue's events."""
GLUE_STATE_CHANGE = "Glue Job State Change"
"""Detail-type of a run's state change (the completion rule matches it for the final states)."""

# --- the Lambda functions -------------------------------------------------------------------------------

ROUTER_HANDLER = "landing_pipeline.runtime.router.handler"
"""Handler of the router (intake queue -> ordered queue)."""
DISPATCHER_HANDLER = "landing_pipeline.runtime.dispatcher.handler"
"""Handler of the dispatcher (ordered queue -> Glue run, holding the message)."""
COMPLETION_HANDLER = "landing_pipeline.runtime.completion.handler"
"""Handler of the completion function (completion queue -> release, retry or dead)."""

# --- metrics the alarms read ------------------------------------------------------------------------------

METRICS_NAMESPACE = "LandingPipeline"
"""CloudWatch namespace of the pipeline's own metrics (Powertools' ``POWERTOOLS_METRICS_NAMESPACE`` too); the
reconciler's ``cloudwatch:PutMetricData`` is allowed in this namespace only."""
DEAD_FILES_METRIC = "DeadFiles"
"""Gauge: how many files are DEAD in the ledger right now (neither redriven nor skipped), counted by the
reconciler from the ledger and published with ``PutMetricData`` on **every** pass, 0 included, with exactly the
dimensions of ``pipeline_dimensions``. The dead-files alarm reads it, so "a file is dead" never expires the way a
queue message does, and a reconciler that stops publishing is noticed (missing data breaches)."""
PIPELINE_DIMENSION = "LedgerTable"
"""The one dimension of the pipeline's metrics: the ledger table's name, unique per pipeline in an account
(several pipelines may share a namespace)."""


def pipeline_dimensions(ledger_table: str) -> dict[str, str]:
    """The dimensions the reconciler publishes with and the alarms select (an alarm matches the exact set)."""
    return {PIPELINE_DIMENSION: ledger_table}


LAMBDA_MIN_MAXIMUM_CONCURRENCY = 2
"""AWS's smallest ``MaximumConcurrency`` of an SQS event source mapping."""


def dispatcher_concurrency(max_parallel_groups: int) -> int:
    """The dispatcher mapping's ``MaximumConcurrency``: ``max(2, maxParallelGroups)``.

    One invocation per group that may run at once; AWS refuses less than 2, and Glue's ``MaxConcurrentRuns``
    (exactly ``maxParallelGroups``) stays the real limit. The components deploy it, the simulator models it.
    """
    return max(LAMBDA_MIN_MAXIMUM_CONCURRENCY, max_parallel_groups)
