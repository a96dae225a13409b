"""A lane's record (``nova_hookspec.deferred.lane_record``) as its holders use it:
facts recorded by one holder, read back by the next from the messages the broker
keeps, compacted, and forgotten after their retention. The broker tests
(tests_broker/test_republish.py) show it with RabbitMQ, processes and signals."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from nova_hookspec.deferred.lane_record import BUCKET, RETENTION, LaneRecord

NOW = 1_800_000_000.0


def message(number: int, hook: str = "create_instance_post", *keys: str,
            retried: int = 0, enqueued_at: float = 1_700_000_000.5) -> dict[str, object]:
    found: dict[str, object] = {"id": f"api-1:{number}", "hook": hook,
                                "keys": list(keys) or [f"uuid-{number}"],
                                "enqueued_at": enqueued_at}
    if retried:
        found["retried"] = retried
    return found


def next_holder(*bodies: object, create_wait: float = 600) -> LaneRecord:
    """What the lane's next holder knows after reading these messages."""
    record = LaneRecord(create_wait)
    for body in bodies:
        assert record.fold(json.dumps(body).encode(), NOW)
    return record


def test_the_next_holder_knows_what_ran_what_was_deleted_and_created() -> None:
    first = LaneRecord(600)
    published = [first.finished(message(1, "create_instance_post", "a"), "create", NOW)[0],
                 first.finished(message(2, "delete_instance_post", "a"), "delete", NOW)[0]]
    second = next_holder(*published)
    assert second.has_run(message(1, "create_instance_post", "a"))
    assert second.has_run(message(2, "delete_instance_post", "a"))
    assert not second.has_run(message(3))
    assert second.was_deleted(["a"])
    assert not second.was_deleted(["a", "b"])  # a multi-create with a live instance
    assert second.created_keys() == ["a"]


def test_a_retried_dead_job_and_a_journal_made_again_are_other_jobs() -> None:
    record = next_holder(LaneRecord(600).finished(message(7), "create", NOW)[0])
    assert record.has_run(message(7))
    assert not record.has_run(message(7, retried=1))  # deferred retry: runs again
    assert not record.has_run(message(7, enqueued_at=1_700_000_999.0))  # a new journal


def test_a_receipt_of_an_earlier_release_says_the_create_ran() -> None:
    record = next_holder({"id": "receipt", "keys": ["a", "b"]})
    assert sorted(record.created_keys()) == ["a", "b"]


def test_an_earlier_release_reads_the_created_instances_from_every_message() -> None:
    """Its runners read each message's ``keys`` as the creates that ran (an upgrade
    with workers of both releases)."""
    record = LaneRecord(600)
    bodies = [record.finished(message(1, "create_instance_post", "a"), "create", NOW)[0],
              record.finished(message(2, "delete_instance_post", "a"), "delete", NOW)[0],
              *(body for body, _expires in record.compacted(NOW))]
    assert [json.loads(json.dumps(body))["keys"] for body in bodies] == [["a"], [], ["a"]]


def test_a_message_that_is_not_a_record_is_left_out() -> None:
    record = LaneRecord(600)
    for body in (b"\xff", b"[1]", b'{"id": "record", "at": "x"}', b'{"ran": [[1]]}'):
        assert not record.fold(body, NOW)
    assert not record.ran


def test_compaction_keeps_every_fact_in_one_message_per_hour_expiring_with_them() -> None:
    first = LaneRecord(600)
    published = []
    start = (NOW // BUCKET - 3) * BUCKET
    for n in range(48):
        kind = "delete" if n % 2 else "create"
        published.append(first.finished(message(n, f"{kind}_instance_post"), kind,
                                        start + n * 300)[0])  # four hours
    assert first.added == 48
    compacted = next_holder(*published).compacted(NOW)
    assert [body["at"] for body, _expires in compacted] == [start + h * BUCKET
                                                           for h in range(4)]
    for body, expires in compacted:
        assert body["at"] + BUCKET + RETENTION - NOW == expires
    again = next_holder(*(body for body, _expires in compacted))
    assert again.ran == next_holder(*published).ran
    assert again.deleted == next_holder(*published).deleted


def test_facts_past_their_retention_are_forgotten_created_ones_after_create_wait() -> None:
    old = NOW - RETENTION - 2 * BUCKET
    record = LaneRecord(600)
    record.finished(message(1, "create_instance_post", "a"), "create", old)
    record.finished(message(2, "delete_instance_post", "a"), "delete", old)
    record.finished(message(3, "create_instance_post", "b"), "create", NOW - 2 * BUCKET)
    record.finished(message(4, "create_instance_post", "c"), "create", NOW)
    assert record.compacted(NOW)
    assert not record.has_run(message(1, "create_instance_post", "a"))
    assert not record.was_deleted(["a"])
    assert record.has_run(message(3, "create_instance_post", "b"))
    assert record.created_keys() == ["c"]


def test_a_create_not_run_because_its_delete_finished_records_no_create() -> None:
    record = LaneRecord(600)
    record.finished(message(2, "delete_instance_post", "a"), "delete", NOW)
    body, _expires = record.finished(message(1, "create_instance_post", "a"), "create", NOW,
                                     ran=False)
    assert body["keys"] == []
    assert record.has_run(message(1, "create_instance_post", "a"))
    assert record.created_keys() == []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.sampled_from(["create", "delete", "other"]),
                          st.integers(0, 2), st.floats(0, 10 * BUCKET)), max_size=40),
       st.lists(st.integers(0, 60), max_size=5))
def test_any_split_into_messages_and_compactions_reads_back_the_same_record(
        finished: list[tuple[int, str, int, float]], cuts: list[int]) -> None:
    """Whatever was recorded, in whichever messages, compacted at whichever points (a
    holder that died between its compacted messages and the ack leaves both): the next
    holder knows the same facts."""
    holder = LaneRecord(600)
    broker: list[dict[str, object]] = []
    for n, (number, kind, retried, offset) in enumerate(finished):
        job = message(number, f"{kind}_instance_post", f"uuid-{number % 7}", retried=retried)
        broker.append(holder.finished(job, kind, NOW - offset)[0])
        if n in cuts:
            broker.extend(body for body, _expires in next_holder(*broker).compacted(NOW))
    reader = next_holder(*broker)
    reader.prune(NOW)
    holder.prune(NOW)
    assert reader.ran == holder.ran
    assert reader.deleted == holder.deleted
    assert reader.created == holder.created
