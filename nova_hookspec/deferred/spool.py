"""The spool: where a hooked call writes its job, one append-only file per process.

Why not the journal itself: a SQLite journal shared by every Nova process
makes the call wait on whoever holds its write lock (a ``sqlite3`` shell, a
stopped process, seven other writers), freezes eventlet's hub while it
waits, and a forked child that inherited its parent's connection loses
jobs. Here the call takes no lock and waits on no other process: like a
mail system's maildrop that a pickup daemon empties, each writing process
appends framed records to its own file in ``<journal>.spool/``, and the
collector (:mod:`.collector`, run by the worker and the relay) imports them
into the journal, which only worker-side processes write.

One writer per file, and a file per writer at a time: past :data:`ROTATE_BYTES`
bytes the writer closes it (letting go of its lock) and starts another at its
next job, so the files of a process that lives for months are removed as their
jobs are done. A file is named ``<host>.<pid>.<random>`` (the random
part: a recycled pid or a forked child never shares a file); it is created
under a hidden name, locked, then renamed, so a collector never sees a file
without its writer's lock. The writer holds a shared ``flock`` on it for its
life: a collector that can take it exclusively knows the writer is gone.
After ``os.fork()`` the child closes (never unlocks) the inherited
descriptor and opens its own file on its first write; ``os.getpid()`` is
checked on each write as a backstop (a fork that skipped Python's hooks).

A record is one ``os.write`` on an ``O_APPEND`` descriptor::

    NHJ1 <length of body> <crc32 of body, 8 hex> <body: JSON>\\n

with the body ``{plugin, hook, keys, payload, meta, written_at, seq}``
(``written_at``: ``time.time()`` taken just before the write). With
``journal_sync = full`` the write is followed by ``fdatasync`` (and the
folder's ``fsync`` when a file is created) before the call returns;
``normal`` leaves that to the kernel (survives any process crash, may lose
the last records on a power loss). In a process monkey-patched by eventlet
(nova-compute) the sync runs in eventlet's ``tpool`` (a native thread): the
calling green thread waits for it, the others run on. Not in a process that
forked, or was forked, after ``tpool`` was imported (its threads do not
survive a fork, and a child's copy of it steals the parent's wake-ups): there
the sync runs in the calling thread (see ``_tpool_pid``).

Torn records. A write that fails or is short makes the writer abandon that
file (the job then runs in the call, as any failed write) and start another
on its next write, so a torn record is only ever a file's last. The reader
skips a record whose length or checksum is wrong, resynchronising on the
next ``NHJ1`` header, so the records after a damaged one are still read; a
tail without its newline is left alone while its writer lives (it may be
mid-write) and skipped, with an ERROR line, once the writer is gone.

A file removed or replaced underneath (``st_nlink == 0``, or another inode
at its path), checked after each write: the writer logs one ERROR line
naming the old path, opens a new file and writes the job again there (with
the same ``written_at``), so no job stays where no collector reads it.

Order across processes is the collector's part: see :mod:`.collector`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import importlib
import json
import logging
import os
import secrets
import socket
import sys
import threading
import time
import weakref
import zlib
from collections.abc import Iterator
from typing import Any

from nova_hookspec.deferred import ownership

log = logging.getLogger("nova_hookspec")

MAGIC = b"NHJ1 "
#: The folder of a journal's spool files, beside it.
SUFFIX = ".spool"
#: A writer whose file reached this size starts a new one at its next job: a file it
#: left is removed once its jobs are done, so a long-lived process (nova-compute)
#: neither grows one file forever nor, after a journal lost, runs all its done jobs
#: again (at most those of the file it writes to).
ROTATE_BYTES = 1 << 20


def folder_of(journal: str) -> str:
    return journal + SUFFIX


def make_folder(folder: str) -> None:
    """Create the spool folder and its parents if missing (0700, owned as their folder)."""
    ownership.make_folders(folder)


def create_file(path: str) -> int:
    """Create a new spool file for appending (mode 0600); its descriptor.

    The one place a spool file is created: who owns it is decided here."""
    return ownership.open_new(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)


def frame(record: dict[str, Any]) -> bytes:
    body = json.dumps(record, separators=(",", ":")).encode()
    return b"%s%d %08x %s\n" % (MAGIC, len(body), zlib.crc32(body), body)


def _sync(fd: int, data_only: bool = True) -> None:
    """``fdatasync`` (or ``fsync``) of ``fd``; in eventlet's hub, in a native thread."""
    sync = getattr(os, "fdatasync", os.fsync) if data_only else os.fsync
    pool = _green_pool()
    if pool is None:
        sync(fd)
    else:
        pool.execute(sync, fd)


#: The pid whose eventlet ``tpool`` this module may use: the first process that asked
#: for it (``None``: none yet; ``-1``: none). After a fork, neither process uses it,
#: when tpool was imported before the fork:
#:
#: * in the child, tpool's native threads are gone but its module still thinks they
#:   run, so a sync handed to it would wait for ever;
#: * in the parent, the child's hub is a copy of the parent's, with tpool's green
#:   thread that waits for the workers' wake-up byte on the same socket: the child
#:   may read the byte meant for the parent, whose call then waits for ever (seen
#:   once in ten forks of an eventlet process whose child ran green threads).
#:
#: Both then sync in the calling thread: for that sync (milliseconds on a healthy
#: disk) their other green threads wait too. Decided by ``sys.modules`` and the fork
#: hooks alone, never by tpool's internals (they differ between the eventlet versions
#: the project supports); tpool is never reset here.
_tpool_pid: int | None = None


def _after_fork_tpool() -> None:
    """After a fork, in the parent and in the child: tpool is never used by this module
    again if it was imported before the fork (by this module or anyone else, e.g.
    Nova's libvirt driver). The pid check in :func:`_green_pool` is the child's
    backstop when this hook is skipped. A command run (a subprocess, forked to exec at
    once: oslo.concurrency's ``preexec_fn`` runs these hooks) is not such a fork: its
    child never runs the hub, so the parent keeps its tpool."""
    global _tpool_pid
    if "eventlet.tpool" in sys.modules and not _running_a_command():
        _tpool_pid = -1  # no pid: never this process's


def _running_a_command() -> bool:
    """Whether this fork is ``subprocess.Popen`` starting a command (fork, then exec)."""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "_execute_child" and os.path.basename(
                code.co_filename) == "subprocess.py":
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def _green_pool() -> Any:
    """eventlet's ``tpool`` when this process is monkey-patched by eventlet and this
    is its hub's native thread (nova-compute), else ``None``.

    A sync can take milliseconds (a busy disk: many); in the hub's thread it would
    stop every green thread of the process (RPC, heartbeats) that long. In a native
    thread only the calling green thread waits. eventlet is never imported here
    when the process has not imported it."""
    patcher = sys.modules.get("eventlet.patcher")
    if patcher is None or not patcher.is_monkey_patched("thread"):
        return None
    native = patcher.original("threading")
    if native.current_thread() is not native.main_thread():
        return None  # a native thread of its own: blocking it stops no green thread
    global _tpool_pid
    if _tpool_pid is None:
        _tpool_pid = os.getpid()
    if _tpool_pid != os.getpid():
        return None  # a forked child: tpool's threads stayed in the parent
    return importlib.import_module("eventlet.tpool")


class Writer:
    """This process's spool file in ``folder``; :meth:`write` appends one job."""

    def __init__(self, folder: str, sync: str = "full", host: str | None = None) -> None:
        self.folder = folder
        self.full = sync.lower() == "full"
        self.host = (host or socket.gethostname()).replace("/", "_")
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid = os.getpid()
        self.path: str | None = None
        self._seq = 0
        self._size = 0
        _WRITERS.add(self)

    def write(self, plugin: str, hook: str, keys: list[str], payload: str,
              meta: dict[str, Any]) -> None:
        """Append the job; durable (``full``) when this returns. Raises ``OSError``."""
        with self._lock:
            if self._pid != os.getpid():
                self._forget()  # a fork that skipped os.register_at_fork's hooks
            written_at = time.time()
            self._append(plugin, hook, keys, payload, meta, written_at)
            if self._moved():
                log.error("nova_hookspec: spool file %s was removed or replaced while in use; "
                          "this process writes to a new spool file from now on", self.path)
                self._forget()
                self._append(plugin, hook, keys, payload, meta, written_at)
            if self._size >= ROTATE_BYTES:
                self._forget()  # closed: its lock with it (see _forget), the next job's file new

    def _append(self, plugin: str, hook: str, keys: list[str], payload: str,
                meta: dict[str, Any], written_at: float) -> None:
        if self._fd is None:
            self._open()
        assert self._fd is not None
        self._seq += 1
        data = frame({"plugin": plugin, "hook": hook, "keys": keys, "payload": payload,
                      "meta": meta, "written_at": written_at, "seq": self._seq})
        try:
            if os.write(self._fd, data) != len(data):
                raise OSError(errno.ENOSPC, f"short write to {self.path}")
            self._size += len(data)
            if self.full:
                _sync(self._fd)
        except OSError:
            self._forget()  # never append after a torn record: the next job starts a file
            raise

    def _open(self) -> None:
        make_folder(self.folder)
        self._pid = os.getpid()
        name = f"{self.host}.{self._pid}.{secrets.token_hex(6)}"
        hidden = os.path.join(self.folder, "." + name)
        fd = create_file(hidden)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # new file: nobody else holds it
            path = os.path.join(self.folder, name)
            os.rename(hidden, path)
            if self.full:
                folder = os.open(self.folder, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    _sync(folder, data_only=False)
                finally:
                    os.close(folder)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self.path, self._seq, self._size = fd, path, 0, 0

    def _moved(self) -> bool:
        """Whether this writer's file is no longer the one at its path."""
        assert self._fd is not None
        assert self.path is not None
        mine = os.fstat(self._fd)
        if mine.st_nlink == 0:
            return True
        try:
            return os.stat(self.path).st_ino != mine.st_ino
        except FileNotFoundError:
            return True

    def _forget(self) -> None:
        """Close the file without unlocking it (after a fork the parent still holds it:
        ``LOCK_UN`` would release its lock too); the next write opens a new one."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd, self.path, self._pid = None, None, os.getpid()

    def close(self) -> None:
        with self._lock:
            self._forget()
        _WRITERS.discard(self)


_WRITERS: weakref.WeakSet[Writer] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for writer in list(_WRITERS):
        writer._lock = threading.Lock()  # another thread may have held it at the fork
        writer._forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
    os.register_at_fork(after_in_child=_after_fork_tpool, after_in_parent=_after_fork_tpool)


# ---------------------------------------------------------------- reading


def files(folder: str) -> list[str]:
    """The names of the spool files in ``folder`` (none when it does not exist)."""
    try:
        return sorted(name for name in os.listdir(folder) if not name.startswith("."))
    except FileNotFoundError:
        return []


def hidden(folder: str) -> list[str]:
    """Files being created (a writer that died between creating and naming one); not
    the delivered record kept here (``.delivered``, its ``-wal`` and ``-shm``)."""
    try:
        return [name for name in os.listdir(folder) if name.startswith(".")
                and name not in (".delivered", ".delivered-wal", ".delivered-shm",
                                 ".delivered-journal")]
    except FileNotFoundError:
        return []


def parse(data: bytes) -> Iterator[tuple[dict[str, Any] | None, int]]:
    """The records of ``data`` with the offset just after each: ``None`` for a damaged
    one (skipped). Stops before a last record without its newline (maybe mid-write)."""
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        if end < 0:
            return
        line = data[pos:end]
        record = _record(line)
        if record is None:
            again = line.find(MAGIC, 1)
            if again > 0:  # a torn record followed by a whole one: read that one
                yield None, pos + again
                pos += again
                continue
        yield record, end + 1
        pos = end + 1


def _record(line: bytes) -> dict[str, Any] | None:
    if not line.startswith(MAGIC):
        return None
    head = line[len(MAGIC):].split(b" ", 2)
    if len(head) != 3:
        return None
    length, crc, body = head
    try:
        if int(length) != len(body) or int(crc, 16) != zlib.crc32(body):
            return None
        found = json.loads(body)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def read(path: str, offset: int) -> tuple[bytes, int]:
    """The bytes of ``path`` from ``offset`` (``b""`` when gone), and its size."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return b"", offset
    return data, offset + len(data)


def waiting(folder: str, offsets: dict[str, int]) -> list[dict[str, Any]]:
    """The jobs in the spool files not imported yet (past their recorded offsets), each
    with its ``file``. Reads only: creates nothing."""
    found: list[dict[str, Any]] = []
    for name in files(folder):
        data, _ = read(os.path.join(folder, name), offsets.get(name, 0))
        found.extend({**record, "file": name} for record, _ in parse(data)
                     if record is not None)
    return found
