"""Reused deployments: the second deploy of a stack replays the first without Pulumi and works the same."""

from __future__ import annotations

import json
import time

import pytest

from landing_pipeline.emulator import deploy_cache
from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.deploy import Deployment, deploy, read_stack
from tests.emulator.conftest import demo


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def _fingerprint(aws: InProcessAWS, deployment: Deployment) -> dict[str, object]:
    sqs = aws.client("sqs")
    queues = {role: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
              for role, url in deployment.queues.items()}
    for attributes in queues.values():
        for moving in ("CreatedTimestamp", "LastModifiedTimestamp", "KmsMasterKeyId"):
            attributes.pop(moving, None)
    return {"resources": sorted((r.type, r.name) for r in deployment.created), "queues": queues,
            "mappings": sorted((m.function.name, m.queue_url, m.batch_size, m.max_concurrency)
                               for m in deployment.mappings),
            "environment": deployment.environment}


def test_a_replayed_deploy_builds_the_same_stack_and_rewires_random_ids() -> None:
    with deploy_cache.fresh_deployments(), deploy_cache.reused_deployments() as cache:
        stack = read_stack("dev")
        assert read_stack("dev") is stack  # read once per configuration
        with InProcessAWS(stack.region) as aws:
            first = deploy(aws, stack)
            first_print = _fingerprint(aws, first)
        assert len(cache.recordings) == 1
        with InProcessAWS(stack.region) as aws:
            second = deploy(aws, stack)
            assert _fingerprint(aws, second) == first_print
    # what moto drew at random (role ids, mapping UUIDs, revision ids) differs, and no resource of the replay
    # still names the first account's value: each was rewired to the new one
    assert [(r.type, r.name) for r in first.created] == [(r.type, r.name) for r in second.created]
    drawn = {old for a, b in zip(first.created, second.created, strict=True)
             for old, new in zip(_strings(a.state), _strings(b.state), strict=False)
             if old != new and len(old) >= deploy_cache.MIN_SUBSTITUTED}
    assert drawn, "moto drew nothing at random: this test no longer shows the rewiring"
    wiring = json.dumps([r.state for r in second.created], default=str)
    stale = sorted(old for old in drawn if old in wiring)
    assert not stale, f"the replay still names values of the first account: {stale[:3]}"


def test_the_same_code_packaged_at_another_time_has_the_same_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    # the replay packages each function's zip again; a timestamp in it changed one function's CodeSha256 at a
    # 2-second boundary, and the rewiring then put the first deploy's hash into the other functions' state
    def code_hashes(deployment: Deployment) -> dict[str, object]:
        return {r.name: r.state["sourceCodeHash"] for r in deployment.created if r.type.endswith("function:Function")}

    with deploy_cache.fresh_deployments(), deploy_cache.reused_deployments():
        stack = read_stack("dev")
        with InProcessAWS(stack.region) as aws:
            first = code_hashes(deploy(aws, stack))
        an_hour_later = time.localtime(time.time() + 3600)
        monkeypatch.setattr(time, "localtime", lambda *_: an_hour_later)
        with InProcessAWS(stack.region) as aws:
            second = code_hashes(deploy(aws, stack))
    assert len(first) >= 4 and all(first.values())
    assert second == first


def test_reuse_is_off_outside_the_block() -> None:
    with deploy_cache.fresh_deployments():
        assert deploy_cache.active() is None
        assert read_stack("dev") is not read_stack("dev")


@pytest.mark.slow
def test_a_demo_on_a_replayed_deploy_ends_as_on_a_fresh_one() -> None:
    def outcome() -> list[tuple[str, str, int]]:
        result = demo()
        return sorted((f["key"], f["status"], len(f["runs"])) for f in result.report["files"])

    with deploy_cache.fresh_deployments():
        fresh = outcome()
    with deploy_cache.fresh_deployments(), deploy_cache.reused_deployments() as cache:
        outcome()
        replayed = outcome()
        assert len(cache.recordings) == 1
    assert replayed == fresh


class _DrawingMocks:
    """Stands in for ``MotoMocks`` in ``replay``: each key it creates gets a new random-looking id."""

    def __init__(self, account: str):
        self.account, self.created, self.seen = account, [], []

    def _create(self, typ: str, name: str, inputs: dict[str, object]) -> tuple[str, dict[str, object]]:
        self.seen.append((name, inputs))
        state = {**inputs, "arn": f"arn:aws:kms:eu-west-1:1:key/{self.account}-{name}-0000"} if typ == "key" else inputs
        return name, state


def test_a_value_drawn_by_an_earlier_resource_is_rewired_into_later_inputs() -> None:
    old_arn = "arn:aws:kms:eu-west-1:1:key/first-k-0000"
    recording = deploy_cache.Recording(program=None, creations=[  # type: ignore[arg-type]
        deploy_cache.Creation("key", "k", {}, {"arn": old_arn}),
        deploy_cache.Creation("queue", "q", {"kmsMasterKeyId": old_arn,
                                             "policy": json.dumps({"Resource": [old_arn]})}, {}),
    ])
    mocks = _DrawingMocks("second")
    deploy_cache.replay(mocks, recording)  # type: ignore[arg-type]
    new_arn = "arn:aws:kms:eu-west-1:1:key/second-k-0000"
    assert mocks.seen[1] == ("q", {"kmsMasterKeyId": new_arn, "policy": json.dumps({"Resource": [new_arn]})})
