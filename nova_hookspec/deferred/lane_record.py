"""A lane's durable record of the jobs that finished: what survives a re-publish.

Why. A job can reach its lane twice: a relay killed after the broker
confirmed a batch and before the batch left its outbox publishes the batch
again when it comes back (:mod:`.relay`), and an operator's tools may
replay messages. The lane's holder changes (a worker killed, stopped,
restarted, the broker restarted), so what ran cannot be remembered by one
worker process. And a create run again after its instance's delete finished
would bring back what the delete removed (issue 29 measured it: the creates
of 28-37 instances ran again after their deletes).

What. Beside each lane queue ``PREFIX.lane.PLUGIN.K`` the broker holds its
record, the durable queue ``PREFIX.receipts.PLUGIN.K``. Each message of it
is a set of facts, and the record is their union:

* ``ran``: the jobs that finished on the lane (done, dead, or not run
  because their instances' delete had finished), each as ``[id, retried,
  enqueued_at]``: the id ``HOST:N`` is the same on every delivery of a job;
  ``retried`` (how often an operator sent it back from the dead letters)
  lets ``deferred retry`` run a dead job again; ``enqueued_at`` tells a job
  of a journal that was made again from number 1 from an old one;
* ``deleted``: the instances whose delete finished (done or dead);
* ``keys``: the instances whose create finished, which lets a delete that
  waits for its create run (:mod:`.lanes`). Under that name a message is
  also what earlier releases' lane runners wrote and read there (a
  *receipt*, ``{"id": "receipt", "keys": [...]}``), so workers of both
  releases can share the lanes during an upgrade.

How (:mod:`.sharing` and :mod:`.consumer` drive it). Only the lane's
holder writes its record: the exclusive consumer of the lane queue, which
makes a round trip to the broker (:func:`.liveness.fence`) before it
records a run. A holder whose connection the broker closed (it was stopped,
its lanes went to others) cannot write there any more, and a write that
passed the fence just before is a fact of a run that did finish: the union
stays true. When a job finishes, the holder publishes one message of
facts, and acks the job only once the broker confirmed that message (the
confirms of a few jobs are waited for at once; before a delete runs, the
record of its instance's create is confirmed). When a runner takes a lane
it reads the whole record; just before it runs a job it looks the job up: a job that finished is acked without
running, a create whose instances' delete finished is recorded and acked
without running.

Bounds. Each fact is kept :data:`RETENTION` seconds (7 days) at least,
:data:`BUCKET` seconds more at most: facts are grouped by the hour they were
recorded in, and an hour's facts go once the hour is older than
:data:`RETENTION`. The broker drops each message when its facts are all
that old (a per-message expiration), and the holder *compacts* the record
when it takes a lane and after every :data:`COMPACT_AFTER` messages it
added: it reads every message, publishes the union again as one message per
hour (confirmed), then acks the messages it read. A holder that dies in
between leaves both, whose union is the same. So the record holds at most
one message per hour of :data:`RETENTION` plus :data:`COMPACT_AFTER`, and
its size is what the lane finished in :data:`RETENTION`. A job re-published
more than :data:`RETENTION` after it finished runs again, and a create
reaching its lane that long after its instance's delete finished runs.
The created instances (``keys``) matter only within ``create_wait`` and
are kept that long (plus :data:`BUCKET`).
"""

from __future__ import annotations

import json
import math
from typing import Any, Iterable, Tuple

from nova_hookspec.deferred.message import LaneMessage, run_key

#: Seconds a finished job (and a finished delete's instances) stay in the record.
RETENTION = 7 * 24 * 3600.0
#: Seconds of the groups the facts are kept and expire in.
BUCKET = 3600.0
#: Messages a holder adds to a record before it compacts it.
COMPACT_AFTER = 1000

#: A finished job: its id, how often it was retried from the dead letters, when written.
RunKey = Tuple[str, int, float]


class LaneRecord:
    """One lane's record as its holder knows it: what the broker's messages say, plus
    what it recorded since."""

    def __init__(self, create_wait: float, retention: float = RETENTION) -> None:
        self.create_wait = create_wait
        self.retention = retention
        #: Each fact and the bucket (hour number) it was recorded in.
        self.ran: dict[RunKey, int] = {}
        self.deleted: dict[str, int] = {}
        self.created: dict[str, int] = {}
        #: Messages added to the broker's record since it was last compacted.
        self.added = 0

    # ------------------------------------------------------------ reading it

    def fold(self, body: bytes | str, now: float) -> bool:
        """Add the facts of one message of the record; ``False`` if it is not one (it
        is left out, and goes at the next compaction)."""
        try:
            found = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
            bucket = _bucket(float(found.get("at", now)))  # an earlier release's receipt has none
            for job_id, retried, enqueued_at in found.get("ran", ()):
                self._keep(self.ran, (str(job_id), int(retried), float(enqueued_at)), bucket)
            self._add("deleted", found.get("deleted", ()), bucket)
            self._add("created", found["keys"], bucket)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return False
        return True

    def has_run(self, message: LaneMessage) -> bool:
        """Whether this job (this ``retried`` of it) finished on the lane."""
        return run_key(message) in self.ran

    def was_deleted(self, keys: Iterable[str]) -> bool:
        """Whether every one of these instances' delete finished on the lane."""
        keys = list(keys)
        return bool(keys) and all(key in self.deleted for key in keys)

    def created_keys(self) -> list[str]:
        return list(self.created)

    # ------------------------------------------------------------ adding to it

    def finished(self, message: LaneMessage, kind: str, now: float,
                 ran: bool = True) -> tuple[dict[str, Any], float]:
        """Record that a job finished (done, dead, or acked without running): the
        message of facts to publish to the broker's record, and its expiration."""
        bucket = _bucket(now)
        keys = [str(key) for key in message.get("keys", ())]
        entry: dict[str, Any] = {"id": "record", "v": 1, "at": now,
                                 "ran": [list(run_key(message))], "keys": []}
        self._keep(self.ran, run_key(message), bucket)
        if kind == "delete":
            entry["deleted"] = keys
            self._add("deleted", keys, bucket)
        elif kind == "create" and ran:
            entry["keys"] = keys
            self._add("created", keys, bucket)
        self.added += 1
        return entry, self.expires(bucket, now)

    def compacted(self, now: float) -> list[tuple[dict[str, Any], float]]:
        """The record as one message per hour, each with the seconds after which the
        broker may drop it (its facts are then all past their retention)."""
        self.prune(now)
        hours: dict[int, dict[str, Any]] = {}

        def hour(bucket: int) -> dict[str, Any]:
            return hours.setdefault(bucket, {"id": "record", "v": 1, "at": bucket * BUCKET,
                                             "ran": [], "deleted": [], "keys": []})

        for key, bucket in self.ran.items():
            hour(bucket)["ran"].append(list(key))
        for instance, bucket in self.deleted.items():
            hour(bucket)["deleted"].append(instance)
        for instance, bucket in self.created.items():
            hour(bucket)["keys"].append(instance)
        return [(hours[b], self.expires(b, now)) for b in sorted(hours)]

    def expires(self, bucket: int, now: float) -> float:
        """Seconds from ``now`` until every fact of ``bucket`` is past its retention."""
        return max(1.0, (bucket + 1) * BUCKET + max(self.retention, self.create_wait) - now)

    def prune(self, now: float) -> None:
        """Forget the facts past their retention."""
        tables: list[tuple[dict[Any, int], float]] = [
            (self.ran, self.retention), (self.deleted, self.retention),
            (self.created, self.create_wait)]
        for table, keep in tables:
            old = [key for key, bucket in table.items() if (bucket + 1) * BUCKET + keep <= now]
            for key in old:
                del table[key]

    def due_for_compaction(self) -> bool:
        return self.added >= COMPACT_AFTER

    # ------------------------------------------------------------ helpers

    def _add(self, name: str, keys: Iterable[Any], bucket: int) -> None:
        table: dict[str, int] = getattr(self, name)
        for key in keys:
            self._keep(table, str(key), bucket)

    @staticmethod
    def _keep(table: dict[Any, int], key: Any, bucket: int) -> None:
        if table.get(key, -1) < bucket:
            table[key] = bucket


def _bucket(when: float) -> int:
    return math.floor(when / BUCKET)
