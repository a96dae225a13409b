"""An SQLite inventory of Nova instances, kept by two typed observers.

It also lists what it holds (``known_instances``), so that ``nova-hookspec
reconcile`` can backfill it with the instances Nova had before it was
installed, and remove the ones deleted while it was not attached.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nova_hookspec import hookimpl

DB_ENV = "NOVA_HOOKSPEC_INVENTORY_DB"
LOG = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    uuid TEXT PRIMARY KEY,
    hostname TEXT,
    project_id TEXT,
    reservation_id TEXT
)
"""


@dataclass(frozen=True)
class Record:
    """One inventoried instance."""

    uuid: str
    hostname: str | None
    project_id: str | None
    reservation_id: str | None


def default_path() -> Path:
    """``$NOVA_HOOKSPEC_INVENTORY_DB``, else a file under ``$XDG_STATE_HOME``."""
    if os.environ.get(DB_ENV):
        return Path(os.environ[DB_ENV])
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(state) / "nova-hookspec" / "inventory.sqlite3"


class Inventory:
    """The plugin: records instances on create, removes them on delete.

    :param path: the database file (default: :func:`default_path`, resolved
        at first use so the environment can be set after import).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = Path(path) if path is not None else None
        self._ready: set[Path] = set()
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._path if self._path is not None else default_path()

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        path = self.path
        with self._lock:
            if path not in self._ready:
                path.parent.mkdir(parents=True, exist_ok=True)
                with closing(sqlite3.connect(path, timeout=30)) as conn, conn:
                    conn.execute(_SCHEMA)
                self._ready.add(path)
        with closing(sqlite3.connect(path, timeout=30)) as conn, conn:
            yield conn

    @hookimpl
    def create_instance_post(self, result: tuple[list[Any], str], context: Any) -> None:
        """Record every instance the create call returned."""
        instances, reservation_id = result
        project = getattr(context, "project_id", None)
        rows = [
            (str(i.uuid), getattr(i, "hostname", None), project, reservation_id)
            for i in instances
        ]
        with self._db() as conn:
            conn.executemany("INSERT OR REPLACE INTO instances VALUES (?, ?, ?, ?)", rows)
        LOG.info("inventory: recorded %d instance(s) of reservation %s in %s", len(rows),
                 reservation_id, self.path)

    @hookimpl
    def delete_instance_post(self, instance: Any) -> None:
        """Remove the deleted instance; a second delete is not an error."""
        with self._db() as conn:
            removed = conn.execute("DELETE FROM instances WHERE uuid = ?", (str(instance.uuid),))
        if removed.rowcount:
            LOG.info("inventory: removed %s", instance.uuid)
        else:
            LOG.info("inventory: %s was not recorded (already removed?)", instance.uuid)

    @hookimpl
    def known_instances(self) -> Iterator[str]:
        """The UUIDs of every inventoried instance, read as they come (reconcile)."""
        with self._db() as conn:
            for (uuid,) in conn.execute("SELECT uuid FROM instances"):
                yield str(uuid)

    def records(self) -> list[Record]:
        """Every inventoried instance, by hostname."""
        with self._db() as conn:
            rows = conn.execute("SELECT * FROM instances ORDER BY hostname, uuid").fetchall()
        return [Record(*row) for row in rows]


#: The instance the entry point names.
plugin = Inventory()
