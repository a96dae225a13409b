"""What the journal shows an operator: counts, the pending and dead jobs, waiting instances.

Kept apart from :mod:`.journal` (what the worker, the collector and the relay
write) because these only read: the journal's rows and, for the jobs written
but not collected yet, the spool files past their recorded offsets
(:func:`..spool.waiting`), so that ``deferred status`` and ``list`` count
every job a call returned for, and create nothing.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from typing import Any

from nova_hookspec.deferred import spool
from nova_hookspec.deferred.brokers import journal_sql as _sql


class Views:
    """The read-only views of :class:`.journal.Journal` (a base class of it)."""

    path: str
    spool: str

    def _db(self) -> sqlite3.Connection:
        raise NotImplementedError

    def spool_offsets(self) -> dict[str, int]:
        raise NotImplementedError

    def _spooled(self) -> list[dict[str, Any]]:
        """The jobs still in spool files (not collected yet), read once."""
        return spool.waiting(self.spool, self.spool_offsets())

    def status(self) -> dict[str, Any]:
        """Counts per state; ``pending`` counts the jobs still in spool files
        (``spooled``), which ``spool`` holds."""
        db = self._db()
        now = time.time()
        db.execute("BEGIN")  # one snapshot: then the files, read past its offsets
        try:
            states = dict(db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state")
                          .fetchall())
            oldest = db.execute("SELECT MIN(enqueued) FROM jobs WHERE state IN "
                                "('pending', 'running')").fetchone()[0]
            counters = [{"plugin": p, "hook": h, "what": w, "count": n} for p, h, w, n in
                        db.execute("SELECT plugin, hook, what, n FROM counters "
                                   "ORDER BY 1, 2, 3")]
            spooled = self._spooled()
        finally:
            db.execute("COMMIT")
        stamps = [stamp for stamp in [s.get("written_at") for s in spooled] + [oldest]
                  if isinstance(stamp, (int, float)) and math.isfinite(stamp)]  # a damaged one
        return {"journal": self.path, "spool": self.spool,
                "pending": states.get("pending", 0) + len(spooled), "spooled": len(spooled),
                "running": states.get("running", 0), "dead": states.get("dead", 0),
                "oldest_pending_age": round(now - min(stamps), 3) if stamps else None,
                "counters": counters}

    def waiting(self, plugin: str) -> set[str]:
        """The instances with a pending or running job of ``plugin``, in the journal or
        still in a spool file (a reconcile pass leaves them to those jobs)."""
        rows = self._db().execute(
            "SELECT DISTINCT k.key FROM job_keys k JOIN jobs j ON j.id = k.job_id "
            "WHERE j.state IN ('pending', 'running') AND k.key LIKE ? ESCAPE '!'",
            (plugin.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "|%",))
        found = {key.split("|", 1)[1] for (key,) in rows if key.split("|", 1)[1]}
        return found | {key for job in self._spooled() if job["plugin"] == plugin
                        for key in job.get("keys") or () if key}  # written, not collected

    def jobs(self, dead: bool = False, limit: int = 100) -> list[dict[str, Any]]:
        """Pending and running jobs (those still in spool files too, id ``None``), or
        the dead ones, in written order."""
        states = ("dead",) if dead else ("pending", "running")
        rows = self._db().execute(
            f"SELECT id, plugin, hook, state, attempts, enqueued, due, history FROM jobs "
            f"WHERE state IN ({','.join('?' * len(states))}) ORDER BY {_sql.ORDER} LIMIT ?",
            (*states, limit)).fetchall()
        found = [{"id": r[0], "plugin": r[1], "hook": r[2], "state": r[3], "attempts": r[4],
                  "enqueued_at": r[5], "due_at": r[6], "history": json.loads(r[7])}
                 for r in rows]
        if not dead:
            found += [{"id": None, "plugin": s["plugin"], "hook": s["hook"], "state": "pending",
                       "attempts": 0, "enqueued_at": s["written_at"], "due_at": None,
                       "history": []}
                      for s in sorted(self._spooled(), key=lambda s: (s["written_at"],
                                                                       s["file"], s["seq"]))]
        return found[:limit]

    def dead_creates(self, job_id: int | None = None) -> list[tuple[int, str, list[str]]]:
        """The dead ``create_instance_post`` jobs (or job ``job_id`` if it is one): their
        number, plugin and instances."""
        rows = self._db().execute(
            "SELECT j.id, j.plugin, k.key FROM jobs j JOIN job_keys k ON k.job_id = j.id "
            "WHERE j.state = 'dead' AND j.hook = 'create_instance_post' AND "
            "(? IS NULL OR j.id = ?) ORDER BY j.id, k.key", (job_id, job_id)).fetchall()
        found: dict[int, tuple[str, list[str]]] = {}
        for number, plugin, key in rows:
            instance = key.split("|", 1)[1] if "|" in key else ""
            entry = found.setdefault(number, (plugin, []))
            if instance:
                entry[1].append(instance)
        return [(number, plugin, instances) for number, (plugin, instances) in found.items()]
