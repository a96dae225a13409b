"""The journal read as it is on disk, for the read-only commands on a full disk.

Why: opening the journal the ordinary way writes. SQLite in WAL mode makes
the ``-shm`` file (and maps it) and the ``-wal`` file whenever they are
missing, as they are after the last connection closed cleanly, and the
opening takes the write lock to check the schema. On a full (or read-only)
disk that fails with "disk I/O error", and ``deferred status`` could not say
what an operator most needs to know then: how many jobs wait.

When the ordinary opening fails and there is no ``-wal`` file with content
(every commit is in the main file), the file is read with SQLite's
``immutable`` flag: no lock, no ``-shm``, no ``-wal``, nothing written.
With a ``-wal`` file that holds commits the main file lacks, reading the
main file alone would show an older state: :func:`open_for_reading` then
gives up, and the command says why.
"""

from __future__ import annotations

import os
import sqlite3
from urllib.parse import quote

from nova_hookspec.deferred.brokers.journal import Journal


def _wal_is_empty(path: str) -> bool:
    try:
        return os.path.getsize(path + "-wal") == 0
    except FileNotFoundError:
        return True


class ImmutableJournal(Journal):
    """The journal at ``path``, read through SQLite's ``immutable`` URI flag; writing
    through it fails (``attempt to write a readonly database``)."""

    def __init__(self, path: str) -> None:
        super().__init__(path, create=False)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{quote(self._target)}?immutable=1", uri=True,
                               isolation_level=None, check_same_thread=False)


def open_for_reading(path: str, sync: str) -> tuple[Journal, str | None]:
    """The journal at ``path`` for a command that only reads it, and, when it could
    only be read as it is on disk, why (a line for standard error).

    :raises sqlite3.Error, OSError: the ordinary opening failed and the file cannot
        be read without writing (its ``-wal`` holds commits), or it is no journal.
    """
    try:
        return Journal(path, sync, create=False), None
    except (sqlite3.OperationalError, OSError) as exc:  # not a damaged file: the disk
        if not os.path.exists(path) or not _wal_is_empty(path):
            raise
        return ImmutableJournal(path), (
            f"the journal {path} cannot be opened for writing ({exc}: a full or read-only "
            "disk?); read as it is on disk")
