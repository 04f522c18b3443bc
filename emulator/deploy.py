"""Deploy a stack onto in-process moto: the real program, the stack's own configuration, real names back.

What is deployed is what the program declares: the spec comes from the ``IngestionPipeline`` the
program built (``ProgramRun.pipelines``), never from a re-read of ``Pulumi.<stack>.yaml``. The two
agree for this project's ``__main__.py``, which builds the pipeline from the stack's settings; a
user's program that passes its own args (``key_prefix="incoming/"``) while its stack file says
something else gets its args, as under ``pulumi up``. Trusting the file had the demo upload every
file under the file's prefix, where the deployed rule never looked, and report success on nothing.

The result names what the rest of the emulator needs (landing bucket, queues,
ledger, job, mappings), each read from what was actually created rather than
predicted, so a program change that breaks the wiring shows up here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from landing_pipeline.components.mocks import AwsMocks
from landing_pipeline.components.program_runner import ProgramRun, run_program, stack_config
from landing_pipeline.emulator import deploy_cache, deploy_derive
from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.bridge import BridgeError, CreatedResource, MotoMocks
from landing_pipeline.emulator.lambda_runner import MappingConfig, load_mappings
from landing_pipeline.runtime.contract import COMPLETION_HANDLER as COMPLETION
from landing_pipeline.runtime.contract import DEAD_FILES_QUEUE_URL_ENV as DEAD_FILES_QUEUE_URL
from landing_pipeline.runtime.contract import JOB_NAME_ENV as JOB_NAME
from landing_pipeline.runtime.contract import LEDGER_TABLE_ENV as LEDGER_TABLE
from landing_pipeline.runtime.contract import ORDERED_DLQ_URL_ENV as ORDERED_DLQ_URL
from landing_pipeline.runtime.contract import ORDERED_QUEUE_URL_ENV as ORDERED_QUEUE_URL
from landing_pipeline.runtime.contract import OUTPUT_BUCKET_ENV as OUTPUT_BUCKET
from landing_pipeline.runtime.contract import ROUTER_HANDLER as ROUTER
from landing_pipeline.runtime.errors import StackFileError
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.runtime.spec_loader import find_project_dir, spec_from_config

DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class StackConfig:
    stack: str
    project_dir: Path
    config: dict[str, str]
    spec: PipelineSpec
    """The spec of the pipeline the program builds with this config (its args), not the stack file's reading."""
    pipeline: str = "ingest"
    """Logical name of that pipeline in the program."""

    @property
    def region(self) -> str:
        return self.config.get("aws:region") or DEFAULT_REGION


def read_stack(stack: str, project_dir: Path | None = None,
               overrides: Mapping[str, Any] | None = None) -> StackConfig:
    """The stack's configuration exactly as ``pulumi up`` would pass it, and the spec of the pipeline the
    program builds from it: the program runs once under recording mocks (about 0.3 s) so that the
    settings it passes in code count, and an invalid configuration fails here, before moto starts."""
    folder = find_project_dir(project_dir)
    cache = deploy_cache.active()
    if cache is None:
        return _read_stack(stack, folder, overrides)
    key = deploy_cache.stack_key(stack, folder, overrides)
    with cache.lock:
        if key not in cache.stacks:
            cache.stacks[key] = _derived_reading(cache, key, stack, folder, overrides) or _read_stack(
                stack, folder, overrides)
        return cache.stacks[key]  # type: ignore[no-any-return]


def _derived_reading(cache: deploy_cache.DeployCache, key: tuple[Any, ...], stack: str, folder: Path,
                     overrides: Mapping[str, Any] | None) -> StackConfig | None:
    """The reading of a new settings combination from one of the same stack and files, when
    ``deploy_derive`` can prove it equal to what the program would build (else None: run the program)."""
    config = stack_config(stack, project_dir=folder, overrides=overrides)
    for other_key, other in cache.stacks.items():
        if (other_key[0], other_key[1], other_key[3]) != (key[0], key[1], key[3]):
            continue
        if not deploy_derive.derivable(folder, other.config, config):
            continue
        spec = deploy_derive.derived_spec(other.spec, other.config, config)
        if spec is not None:
            return StackConfig(stack, folder, config, spec, other.pipeline)
    return None


def _read_stack(stack: str, folder: Path, overrides: Mapping[str, Any] | None) -> StackConfig:
    config = stack_config(stack, project_dir=folder, overrides=overrides)
    program = folder / "__main__.py"
    if not program.is_file():
        spec_from_config(config)  # a bad stack file is named first, with every problem
        raise StackFileError(f"no Pulumi program {program}: the emulator runs the program `pulumi up` would run; "
                             "write a __main__.py that builds an IngestionPipeline (docs/components.md), or run "
                             "from this repository's folder", path=program)
    plan = run_program(AwsMocks(region=config.get("aws:region")), stack, project_dir=folder, config=config)
    name, spec = declared_pipeline(plan, folder)
    return StackConfig(stack, folder, config, spec, name)


def declared_pipeline(run: ProgramRun, folder: Path) -> tuple[str, PipelineSpec]:
    """The one ``IngestionPipeline`` the program built, by name and spec."""
    if len(run.pipelines) == 1:
        return next(iter(run.pipelines.items()))
    program = folder / "__main__.py"
    if not run.pipelines:
        raise BridgeError(f"{program} builds no IngestionPipeline (from landing_pipeline import IngestionPipeline); "
                          "the emulator deploys and drives one")
    raise BridgeError(f"{program} builds {len(run.pipelines)} pipelines ({', '.join(sorted(run.pipelines))}); "
                      "the emulator drives one: build the others only when an environment variable or a stack "
                      "setting of yours asks for them")


@dataclass
class Deployment:
    stack: StackConfig
    program: ProgramRun
    created: list[CreatedResource]
    mappings: list[MappingConfig]
    landing_bucket: str
    environment: dict[str, str]
    queues: dict[str, str] = field(default_factory=dict)
    """role -> queue URL: intake, ordered, completion, intake_dlq, ordered_dlq, completion_dlq, and dead_files
    (where dead files are announced, one message per death) when the stack deploys it."""

    @property
    def spec(self) -> PipelineSpec:
        return self.stack.spec

    @property
    def job_name(self) -> str:
        return self.environment[JOB_NAME]

    @property
    def ledger_table(self) -> str:
        return self.environment[LEDGER_TABLE]

    @property
    def output_bucket(self) -> str:
        return self.environment[OUTPUT_BUCKET]

    def mapping_for(self, handler: str) -> MappingConfig:
        for mapping in self.mappings:
            if mapping.function.handler == handler:
                return mapping
        have = ", ".join(m.function.handler for m in self.mappings) or "none"
        raise BridgeError(f"the stack maps no queue to a function with handler {handler} (mapped: {have})")


def deploy(aws: InProcessAWS, stack: StackConfig) -> Deployment:
    if stack.spec.existing_bucket_name:  # "bring your own bucket": it exists before the stack, so create it first
        create: dict[str, Any] = {"Bucket": stack.spec.existing_bucket_name}
        if aws.region != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": aws.region}
        aws.client("s3").create_bucket(**create)
    cache = deploy_cache.active()
    key = (stack.stack, str(stack.project_dir), json.dumps(stack.config, sort_keys=True), aws.region)
    recording = cache.recordings.get(key) if cache is not None else None
    if recording is None and cache is not None:
        recording = _derived_recording(cache, key, stack)
    if recording is not None:
        mocks: MotoMocks = MotoMocks(aws, stack.project_dir, stack.stack)
        deploy_cache.replay(mocks, recording)
        program = recording.program
    else:
        mocks = (deploy_cache.RecordingMocks if cache is not None else MotoMocks)(aws, stack.project_dir, stack.stack)
        program = _run(mocks, stack)
        if cache is not None and isinstance(mocks, deploy_cache.RecordingMocks):
            cache.recordings[key] = deploy_cache.Recording(program, mocks.creations)
    name, spec = declared_pipeline(program, stack.project_dir)
    if (name, spec) != (stack.pipeline, stack.spec):  # the program decides per run (time, environment...)
        stack = StackConfig(stack.stack, stack.project_dir, stack.config, spec, name)
    mappings = load_mappings(aws)
    environment = merged_environment(mappings)
    deployment = Deployment(stack=stack, program=program, created=mocks.created, mappings=mappings,
                            landing_bucket=_landing_bucket(mocks.created), environment=environment)
    deployment.queues = {
        "intake": deployment.mapping_for(ROUTER).queue_url, "ordered": environment[ORDERED_QUEUE_URL],
        "completion": deployment.mapping_for(COMPLETION).queue_url, "ordered_dlq": environment[ORDERED_DLQ_URL],
    }
    if environment.get(DEAD_FILES_QUEUE_URL):
        deployment.queues["dead_files"] = environment[DEAD_FILES_QUEUE_URL]
    for role, url in _dlqs(aws, deployment.queues).items():
        deployment.queues.setdefault(role, url)
    return deployment


def _derived_recording(cache: deploy_cache.DeployCache, key: tuple[Any, ...],
                       stack: StackConfig) -> deploy_cache.Recording | None:
    """A recording of this configuration derived from one of another settings combination of the same stack
    (``deploy_derive``: only where that is proven identical to Pulumi's); stored for the next deploy."""
    for other_key, other in list(cache.recordings.items()):
        if (other_key[0], other_key[1], other_key[3]) != (key[0], key[1], key[3]):
            continue
        if not deploy_derive.derivable(stack.project_dir, other.program.config, stack.config):
            continue
        name, spec = declared_pipeline(other.program, stack.project_dir)
        if name != stack.pipeline or deploy_derive.derived_spec(spec, other.program.config, stack.config) != stack.spec:
            continue
        derived = deploy_derive.derive(other, spec, stack.spec, stack.config, name)
        if derived is not None:
            cache.recordings[key] = derived
            return derived
    return None


def _run(mocks: MotoMocks, stack: StackConfig) -> ProgramRun:
    """The program under ``mocks``: every resource it declares created in moto."""
    try:
        program = run_program(mocks, stack.stack, project_dir=stack.project_dir, config=stack.config)
    except BridgeError:
        raise
    except Exception as exc:
        if mocks.errors:
            raise BridgeError("; ".join(mocks.errors)) from exc
        raise
    if mocks.errors:
        raise BridgeError("; ".join(mocks.errors))
    return program


def merged_environment(mappings: list[MappingConfig]) -> dict[str, str]:
    """The functions' environments as one mapping. The runtime installs one context per process, which is
    only faithful while every function sees the same value for a variable; a conflict is an error."""
    merged: dict[str, str] = {}
    for mapping in mappings:
        for name, value in mapping.function.environment.items():
            if merged.setdefault(name, value) != value:
                raise BridgeError(f"functions disagree on {name} ({merged[name]!r} vs {value!r}); the emulator runs "
                                  "all handlers with one runtime context and cannot honour both")
    missing = [name for name in (JOB_NAME, LEDGER_TABLE, ORDERED_QUEUE_URL, ORDERED_DLQ_URL, OUTPUT_BUCKET)
               if name not in merged]
    if missing:
        raise BridgeError(f"no deployed function has {', '.join(missing)} in its environment (see "
                          "docs/interfaces.md); the handlers could not find the pipeline's resources")
    return merged


def _landing_bucket(created: list[CreatedResource]) -> str:
    for resource in created:
        if resource.type == "aws:s3/bucketNotification:BucketNotification" and resource.state.get("eventbridge"):
            return str(resource.state["bucket"])
    raise BridgeError("the stack declares no bucket with EventBridge notifications on (aws:s3/bucketNotification "
                      "with eventbridge=true): nothing would ever reach the intake rule")


def _dlqs(aws: InProcessAWS, queues: dict[str, str]) -> dict[str, str]:
    """The dead-letter queues of the intake and completion queues, from their redrive policies."""
    import json

    sqs, found = aws.client("sqs"), {}
    for role in ("intake", "completion"):
        attributes = sqs.get_queue_attributes(QueueUrl=queues[role], AttributeNames=["RedrivePolicy"])["Attributes"]
        if "RedrivePolicy" in attributes:
            arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
            found[f"{role}_dlq"] = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
    return found
