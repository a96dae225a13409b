"""The journal as an outbox (what the relay reads and removes), and a journal
written by an earlier release opened by this one."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from nova_hookspec.deferred.brokers.journal import Journal


def test_the_outbox_gives_jobs_in_written_order_with_their_instances_and_route(
        tmp_path: Path) -> None:
    journal = Journal(str(tmp_path / "j.sqlite"))
    first = journal.enqueue("inv", "create_instance_post", ["u-2", "u-1"], "{}",
                            json.dumps({"lane": "r-1"}))
    second = journal.enqueue("inv", "delete_instance_post", ["u-1"], "{}",
                             json.dumps({"lane": "r-1", "created_at": 12.5}))
    jobs = journal.outbox()
    assert [j["number"] for j in jobs] == [first, second]
    assert jobs[0]["keys"] == ["u-1", "u-2"]
    assert jobs[0]["lane"] == "r-1"
    assert jobs[1]["created_at"] == 12.5
    journal.sent([first])
    assert [j["number"] for j in journal.outbox()] == [second]
    journal.sent([first])  # sent twice (a relay killed after the confirm): no harm
    counters = {(c["hook"], c["what"]): c["count"] for c in journal.status()["counters"]}
    assert counters[("create_instance_post", "relayed")] == 1
    assert journal.status()["pending"] == 1
    journal.close()


def test_a_journal_of_an_earlier_release_gains_the_route_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(str(path))
    db.executescript("""
        CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, plugin TEXT NOT NULL,
            hook TEXT NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',
            enqueued REAL NOT NULL, due REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
            worker TEXT, lease_until REAL, history TEXT NOT NULL DEFAULT '[]');
        CREATE TABLE job_keys (job_id INTEGER NOT NULL, key TEXT NOT NULL);
        INSERT INTO jobs (plugin, hook, payload, enqueued, due)
            VALUES ('inv', 'create_instance_post', '{}', 1.0, 1.0);
        INSERT INTO job_keys VALUES (1, 'inv|u-1');
    """)
    db.close()
    journal = Journal(str(path))
    [old] = journal.outbox()
    assert old["keys"] == ["u-1"]
    assert "lane" not in old  # routed by its instance (rabbit.message_of)
    journal.enqueue("inv", "delete_instance_post", ["u-1"], "{}", json.dumps({"lane": "r"}))
    assert [j.get("lane") for j in journal.outbox()] == [None, "r"]
    journal.close()
