"""Reading what the dead-letter queues hold (emulator/demo.py ``_dead_letters`` at the end of a run, the chaos
operator's ``_dlq_files`` between drains): a FIFO receive returns no message of a group that has one in flight,
so a read that leaves its batches invisible stops at 10 messages of each group. More dead files of one group
than that must all be seen (issue 11: otherwise the 11th is "lost" and "dead but not in a DLQ")."""

from __future__ import annotations

import json
from types import SimpleNamespace

from landing_pipeline.emulator import chaos, demo
from landing_pipeline.emulator.aws import InProcessAWS

DEAD, OTHER = 25, 3


def _announce(aws: InProcessAWS) -> str:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="dead-files.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for index in range(DEAD + OTHER):
        group = "feed0_20250915" if index < DEAD else "feed1_20250915"
        body = {"file_id": f"f{index:02d}", "key": f"landing/{group}_{index:02d}.csv", "death": 1}
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body), MessageGroupId=group,
                         MessageDeduplicationId=f"f{index:02d}-dead-1")
    return str(url)


def test_the_operator_sees_every_dead_file_of_a_group_and_leaves_them_in_place() -> None:
    with InProcessAWS("eu-west-1") as aws:
        deployment = SimpleNamespace(queues={"dead_files": _announce(aws)})
        first = chaos._dlq_files(aws, deployment)  # type: ignore[arg-type]
        assert [file_id for file_id, _ in first] == [f"f{index:02d}" for index in range(DEAD + OTHER)]
        assert chaos._dlq_files(aws, deployment) == first  # type: ignore[arg-type]  # nothing consumed
        assert len(demo._dead_letters(aws, deployment)["dead_files"]) == DEAD + OTHER  # type: ignore[arg-type]


def test_the_end_of_run_readout_has_every_dead_letter() -> None:
    with InProcessAWS("eu-west-1") as aws:
        deployment = SimpleNamespace(queues={"dead_files": _announce(aws), "intake": "ignored"})
        messages = demo._dead_letters(aws, deployment)["dead_files"]  # type: ignore[arg-type]
        ids = [json.loads(message["body"])["file_id"] for message in messages]
        assert sorted(ids) == [f"f{index:02d}" for index in range(DEAD + OTHER)]
        assert len(set(ids)) == len(ids)
