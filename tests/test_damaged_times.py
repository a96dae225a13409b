"""A job whose time is no time (NaN, infinity) does not stop ``deferred list`` or ``status``.

Found by a hostile review (scenB): a lane message with ``enqueued_at`` NaN
made ``deferred list`` end in a traceback (``ValueError: Invalid value
NaN``), so an operator saw none of the jobs. The same reading shows the jobs
of this host: a spooled record (written by a call, read past its offset) and
a journal row. Such a time is shown as ``unknown``, and as ``null`` in
``--json``; the job is still listed.
"""

from __future__ import annotations

import json
import math
import sqlite3
from contextlib import closing

import test_deferred
from test_deferred import Host

from nova_hookspec.deferred import spool

#: test_deferred.py's host fixture: its journal, the ledger plugin, its processes.
host = test_deferred.host


def test_a_nan_or_infinite_time_is_listed_as_unknown(host: Host) -> None:
    [journal_uuid] = host.calls()
    (host.gates / "fatal").touch()
    host.drain()  # collected, run once, dead: its row stays in the journal
    (host.gates / "fatal").unlink()
    with closing(sqlite3.connect(host.journal)) as db, db:  # its time damaged in the journal
        assert db.execute("UPDATE jobs SET enqueued = ?", (math.inf,)).rowcount == 1
    folder = host.journal.parent / (host.journal.name + ".spool")
    kept = set(spool.files(str(folder)))  # the dead job's file: kept while it is dead
    [spooled_uuid] = host.calls()  # written, not collected: its record's time made NaN
    [name] = set(spool.files(str(folder))) - kept
    [(record, _)] = list(spool.parse((folder / name).read_bytes()))
    assert record is not None
    assert spooled_uuid in record["payload"]
    (folder / name).write_bytes(spool.frame({**record, "written_at": math.nan}))

    shown = host.run("-m", "nova_hookspec", "deferred", "list")
    assert shown.returncode == 0, shown.stderr
    [line] = shown.stdout.splitlines()
    assert " pending " in line, shown.stdout
    assert "enqueued unknown" in line, shown.stdout
    dead = host.run("-m", "nova_hookspec", "deferred", "list", "--dead")
    assert dead.returncode == 0, dead.stderr
    assert "enqueued unknown" in dead.stdout, dead.stdout
    as_json = host.run("-m", "nova_hookspec", "deferred", "list", "--json")
    assert as_json.returncode == 0, as_json.stderr
    [job] = json.loads(as_json.stdout)["jobs"]
    assert (job["state"], job["enqueued_at"]) == ("pending", None)
    status = host.run("-m", "nova_hookspec", "deferred", "status")
    assert status.returncode == 0, status.stderr
    assert "1 pending, 0 running, 1 dead; oldest pending: none" in status.stdout, status.stdout
    # The ledger: the journal's job ran once (and failed for good); the spooled one has
    # not run.
    assert [line[:3] for line in host.lines()] == [["start", "create", journal_uuid]]
