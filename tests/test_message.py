"""The lane message (:mod:`nova_hookspec.deferred.message`): what a relay publishes from a
journal's outbox is what a lane runner reads back and runs, every field kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nova_hookspec.deferred.brokers.journal import Journal
from nova_hookspec.deferred.message import UnreadableError, job_of, of_outbox, read, run_key


def _through_the_broker(journal: Journal) -> list:
    """The outbox's jobs as a lane runner gets them: published as JSON, read back."""
    return [read(json.dumps(of_outbox(job)).encode()) for job in journal.outbox()]


def test_a_reconcile_job_reaches_its_plugin_as_a_reconcile_job_across_hosts(
        tmp_path: Path) -> None:
    journal = Journal(str(tmp_path / "journal.sqlite"))
    try:
        journal.enqueue("inventory", "create_instance_post", ["u-1"], "{}",
                        json.dumps({"source": "reconcile"}))
        journal.enqueue("inventory", "delete_instance_post", ["u-2"], "{}",
                        json.dumps({"created_at": 12.5}))
        reconciled, hooked = _through_the_broker(journal)
    finally:
        journal.close_all()
    first = job_of(reconciled, 1, [])
    assert first.delivery().source == "reconcile"
    assert first.delivery().job_id == reconciled["id"] == f"{journal.host}:1"
    second = job_of(hooked, 2, [{"attempt": 1, "error": "x"}])
    assert second.delivery().source == "hook"
    assert (second.attempts, second.keys, hooked["created_at"]) == (2, ("u-2",), 12.5)
    assert hooked["lane"] == "u-2"  # an instance's every job in its lane
    assert run_key(hooked) == (f"{journal.host}:2", 0, hooked["enqueued_at"])


@pytest.mark.parametrize(("body", "reason"), [
    (b"\xff\xfe", "not UTF-8 text"),
    (b"{", "not JSON"),
    (b"[1, 2]", "a JSON list, not an object"),
    (b"[" * 100_000 + b"]" * 100_000, "JSON nested too deep to read"),
    (b'{"id": "h:1"}', "no field 'host'"),
    (json.dumps({"id": "h:1", "host": "h", "number": True, "plugin": "p", "hook": "k",
                 "payload": "{}", "enqueued_at": 1.0, "keys": []}).encode(),
     "field 'number' is a bool"),
    (json.dumps({"id": "h:1", "host": "h", "number": 1, "plugin": "p", "hook": "k",
                 "payload": "{}", "enqueued_at": 1.0, "keys": [], "source": 3}).encode(),
     "field 'source' is a int"),
])
def test_what_is_no_lane_message_is_named_in_one_line(body: bytes, reason: str) -> None:
    with pytest.raises(UnreadableError) as caught:
        read(body)
    assert str(caught.value).startswith(reason)
