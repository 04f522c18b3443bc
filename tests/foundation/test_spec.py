"""The spec: defaults, every validation rule, derived values, and the trip through Lambda environment variables."""

from __future__ import annotations

import pytest

from landing_pipeline.runtime.errors import SpecError
from landing_pipeline.runtime.spec import (
    SETTINGS_BY_KEY,
    SQS_MAX_VISIBILITY_S,
    PipelineSpec,
    coerce,
    from_env,
    settings,
    to_env,
)


def problems_of(**values: object) -> list[str]:
    with pytest.raises(SpecError) as caught:
        PipelineSpec(**values)  # type: ignore[arg-type]
    return [str(p) for p in caught.value.problems]


def test_defaults_are_valid_and_sensible() -> None:
    spec = PipelineSpec()
    assert spec.max_parallel_groups == 4
    assert spec.glue_max_concurrent_runs == spec.max_parallel_groups
    assert spec.hold_visibility_s == 60 * 60 + 900
    assert spec.receive_ceiling == 100  # far above max_attempts: throttles and recoveries are receives too
    assert spec.ignore_empty_objects and spec.ignore_folder_markers
    assert (spec.order_by, spec.settle_seconds, spec.late_files, spec.reconcile_minutes) == (
        "landing_time", 30, "run", 5)


@pytest.mark.parametrize(
    ("values", "setting", "fragment"),
    [
        ({"max_parallel_groups": 0}, "maxParallelGroups", "from 1 to 1000"),
        ({"max_parallel_groups": 1001}, "maxParallelGroups", "from 1 to 1000"),
        ({"max_attempts": 0}, "maxAttempts", "from 1 to 100"),
        ({"grouping_rule": "regex", "grouping_pattern": "("}, "groupingPattern", "not a valid regular expression"),
        ({"grouping_rule": "regex", "grouping_pattern": r"^(\w+)_"}, "groupingPattern", "no named group 'group'"),
        ({"grouping_rule": "regex"}, "groupingPattern", "no pattern is set"),
        ({"grouping_pattern": "(?P<group>x)"}, "groupingPattern", "grouping_rule is 'default'".replace(
            "grouping_rule", "groupingRule")),
        ({"grouping_rule": "prefix"}, "groupingRule", "not a known choice"),
        ({"grouping_fields": 0}, "groupingFields", "from 1 to 50"),
        ({"grouping_separator": ""}, "groupingSeparator", "must not be empty"),
        ({"grouping_fallback": "drop"}, "groupingFallback", "not a known choice"),
        ({"ordering_scope": "bucket"}, "orderingScope", "not a known choice"),
        ({"on_failure": "stop"}, "onFailure", "not a known choice"),
        ({"order_by": "arrival"}, "orderBy", "use one of: landing_time, file_name"),
        ({"settle_seconds": -1}, "settleSeconds", "from 0 to 3600"),
        ({"settle_seconds": 3601}, "settleSeconds", "(0: no wait"),
        ({"late_files": "drop"}, "lateFiles", "use one of: run, park"),
        ({"reconcile_minutes": 0}, "reconcileMinutes", "at least 1"),
        ({"reconcile_minutes": 721}, "reconcileMinutes", "from 1 to 720"),
        ({"job_timeout_minutes": 720}, "jobTimeoutMinutes", "12 h"),
        ({"job_timeout_minutes": 0}, "jobTimeoutMinutes", "from 1"),
        ({"router_timeout_s": 901}, "routerTimeoutS", "6x"),
        ({"dispatcher_timeout_s": 0}, "dispatcherTimeoutS", "1-900"),
        ({"completion_timeout_s": 3600}, "completionTimeoutS", "1-900"),
        ({"max_receives": 3}, "maxReceives", "above maxAttempts"),
        ({"max_receives": 1001}, "maxReceives", "up to 1000"),
        ({"retry_backoff_base_s": 600, "retry_backoff_cap_s": 60}, "retryBackoffCapS", "below retryBackoffBaseS"),
        ({"throttle_backoff_s": 0}, "throttleBackoffS", "from 1"),
        ({"worker_type": "G.3X"}, "workerType", "not a known choice"),
        ({"worker_count": 1}, "workerCount", "at least 2"),
        ({"glue_version": "3.0"}, "glueVersion", "not a known choice"),
        ({"job_type": "pythonshell"}, "jobType", "not a known choice"),
        ({"script_location": "/tmp/job.py"}, "scriptLocation", "s3://"),
        ({"output_prefix": "processed"}, "outputPrefix", "folder prefix"),
        ({"quarantine_prefix": "processed/"}, "quarantinePrefix", "same as outputPrefix"),
        ({"schema": ("amount:money",)}, "schema", "unknown type 'money'"),
        ({"schema": ("9col:string",)}, "schema", "no valid name"),
        ({"schema": ("a:string", "a:int")}, "schema", "declared twice"),
        ({"merge_keys": ("id",), "schema": ("order_id:string",)}, "mergeKeys", "not in the declared schema"),
        ({"merge_keys": ("id", "id")}, "mergeKeys", "listed twice"),
        ({"merge_keys": ("bad key",)}, "mergeKeys", "not a column name"),
        ({"hold_margin_s": 10}, "holdMarginS", "from 60"),
        ({"lambda_memory_mb": 64}, "lambdaMemoryMb", "from 128"),
        ({"log_retention_days": 10}, "logRetentionDays", "retention CloudWatch Logs accepts"),
        ({"oldest_message_alarm_s": 5}, "oldestMessageAlarmS", "from 60"),
        ({"dlq_depth_alarm_threshold": -1}, "dlqDepthAlarmThreshold", "from 0"),
        ({"alarm_email": "ops"}, "alarmEmail", "not an email"),
        ({"alarm_topic_arn": "topic"}, "alarmTopicArn", "not an SNS topic ARN"),
        ({"tags": ("Owner",)}, "tags", "not 'Key=Value'"),
        ({"tags": ("aws:x=1",)}, "tags", "reserved 'aws:' prefix"),
        ({"tags": ("A=1", "A=2")}, "tags", "given twice"),
        ({"key_prefix": "/landing/"}, "keyPrefix", "never start with '/'"),
        ({"existing_bucket_name": "Bad_Bucket"}, "existingBucketName", "not a valid S3 bucket name"),
        ({"bucket_kms_key_arn": "alias/x"}, "bucketKmsKeyArn", "not a KMS key ARN"),
        ({"landed_object_expiration_days": -1}, "landedObjectExpirationDays", "from 0"),
    ],
)
def test_each_rule_names_the_setting_the_value_and_a_fix(values: dict[str, object], setting: str,
                                                          fragment: str) -> None:
    problems = problems_of(**values)
    matching = [p for p in problems if p.startswith(f"landing-pipeline:{setting} = ")]
    assert matching, problems
    assert any(fragment in p for p in matching), matching
    assert all("Fix: " in p for p in matching)


def test_all_problems_are_reported_at_once() -> None:
    problems = problems_of(max_parallel_groups=0, max_attempts=0, worker_count=1, tags=("x",))
    assert len(problems) == 4


def test_job_timeout_fix_suggests_the_largest_timeout_that_fits() -> None:
    (problem,) = problems_of(job_timeout_minutes=701, hold_margin_s=1200)
    assert "43200" in problem and f"<= {(SQS_MAX_VISIBILITY_S - 1200) // 60}" in problem


def test_backoff_doubles_and_is_capped() -> None:
    spec = PipelineSpec(retry_backoff_base_s=60, retry_backoff_cap_s=300)
    assert [spec.retry_backoff_s(n) for n in (1, 2, 3, 4, 10)] == [60, 120, 240, 300, 300]


def test_derived_values() -> None:
    spec = PipelineSpec(max_attempts=20, tags=("Owner=data", "Env = dev"), schema=("id:string", "amt:decimal(12,2)"))
    assert spec.receive_ceiling == 200
    assert PipelineSpec(max_receives=50).receive_ceiling == 50
    assert spec.tag_map == {"Owner": "data", "Env": "dev"}
    assert spec.schema_columns == [("id", "string"), ("amt", "decimal(12,2)")]
    assert spec.queue_visibility_s(60) == 360


def test_runtime_part_round_trips_through_environment_variables() -> None:
    spec = PipelineSpec(
        key_prefix="landing/", key_suffixes=(".csv", ".json"), ignore_empty_objects=False,
        grouping_rule="regex", grouping_pattern=r"^(?P<group>[a-z]+)_\d+", grouping_fallback="reject",
        ordering_scope="folder", max_parallel_groups=17, max_attempts=5, on_failure="block",
        order_by="file_name", settle_seconds=0, late_files="park", reconcile_minutes=2,
        merge_keys=("order_id",), schema=("order_id:string", "amount:double"), hold_margin_s=1200,
        job_timeout_minutes=90, worker_count=10,  # not runtime: must not travel
    )
    env = to_env(spec)
    assert all(name.startswith("LANDING_") and isinstance(value, str) for name, value in env.items())
    assert "LANDING_WORKER_COUNT" not in env
    assert from_env(env).runtime_part() == spec.runtime_part()
    assert from_env(env).worker_count == PipelineSpec().worker_count


def test_a_damaged_environment_variable_is_reported() -> None:
    env = to_env(PipelineSpec())
    env["LANDING_MAX_ATTEMPTS"] = "three"
    with pytest.raises(SpecError, match=r"maxAttempts.*whole number"):
        from_env(env)


@pytest.mark.parametrize(("key", "raw", "expected"), [
    ("maxParallelGroups", "8", 8), ("maxParallelGroups", 8.0, 8), ("ignoreEmptyObjects", "false", False),
    ("ignoreEmptyObjects", "True", True), ("keySuffixes", '[".csv"]', (".csv",)), ("keySuffixes", ".csv, .json",
                                                                                   (".csv", ".json")),
    ("keySuffixes", ["a", 1], ("a", "1")), ("keySuffixes", "", ()), ("keyPrefix", None, ""),
])
def test_config_values_arrive_as_strings_and_are_coerced(key: str, raw: object, expected: object) -> None:
    assert coerce(SETTINGS_BY_KEY[key], raw) == expected


@pytest.mark.parametrize(("key", "raw"), [
    ("maxParallelGroups", "eight"), ("maxParallelGroups", True), ("ignoreEmptyObjects", "maybe"),
    ("keySuffixes", "[oops"), ("keySuffixes", {"a": 1}), ("keyPrefix", {"a": 1}),
])
def test_uncoercible_values_raise(key: str, raw: object) -> None:
    with pytest.raises(ValueError):
        coerce(SETTINGS_BY_KEY[key], raw)


def test_every_setting_has_a_description_and_a_declared_kind() -> None:
    for setting in settings():
        assert setting.description.endswith((".", ")")), setting.name
        assert setting.kind in ("string", "integer", "boolean", "array", "objects")
