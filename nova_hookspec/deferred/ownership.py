"""Files and folders nova_hookspec creates belong to whoever owns their folder.

The journal (and what lives beside it) is shared by the Nova services of a
host, which run as Nova's user, and by commands an operator may run as
root (``sudo nova-hookspec deferred retry --dead``, a worker started by
hand). Whichever process creates a file first decides who may use it: a
journal created by root with mode 0600 would make every later hooked call
of the ``nova`` user fail to write its job. So a file or folder created
here takes the owner and group of the folder it is created in
(``/var/lib/nova``, owned by ``nova``), whoever creates it, with mode 0600
(files) or 0700 (folders): a service's own state folder decides, as it does
for the rest of Nova's state.

Only root can give a file away; another user creates files as itself,
which is the user that runs the services when it may write there at all.
SQLite gives the ``-wal`` and ``-shm`` files the owner and mode of the
database file when it runs as root, so they follow.
"""

from __future__ import annotations

import os

#: Modes of what is created: read and written by its owner only.
FILE_MODE = 0o600
FOLDER_MODE = 0o700


def _give_to_folder_owner(fd_or_path: int | str, folder: str) -> None:
    """As root, hand ``fd_or_path`` to the owner and group of ``folder``."""
    if os.geteuid() != 0:
        return
    found = os.stat(folder)
    if isinstance(fd_or_path, int):
        os.fchown(fd_or_path, found.st_uid, found.st_gid)
    else:
        os.chown(fd_or_path, found.st_uid, found.st_gid)


def make_folders(folder: str) -> None:
    """Create ``folder`` and the missing folders above it, each 0700 and owned as the
    folder it is created in."""
    folder = os.path.abspath(folder)
    if os.path.isdir(folder):
        return
    parent = os.path.dirname(folder)
    if parent != folder:
        make_folders(parent)
    try:
        os.mkdir(folder, FOLDER_MODE)
    except FileExistsError:  # another process made it first: theirs
        return
    _give_to_folder_owner(folder, parent)


def open_new(path: str, flags: int) -> int:
    """Create ``path`` (it must not exist), opened with ``flags`` besides
    ``O_CREAT | O_EXCL``, 0600 and owned as its folder; its descriptor."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | flags, FILE_MODE)
    try:
        _give_to_folder_owner(fd, os.path.dirname(os.path.abspath(path)))
    except OSError:
        os.close(fd)
        raise
    return fd


def open_shared(path: str, flags: int) -> int:
    """``path`` opened with ``flags``, created first (0600, owned as its folder) when
    missing: a lock file whichever user comes first."""
    try:
        return open_new(path, flags)
    except FileExistsError:
        return os.open(path, flags)


def create_file(path: str) -> bool:
    """Create ``path`` (empty, 0600, owned as its folder) unless it exists; whether
    this call created it. Its missing folders are created (:func:`make_folders`)."""
    folder = os.path.dirname(os.path.abspath(path))
    make_folders(folder)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    except FileExistsError:
        return False
    try:
        _give_to_folder_owner(fd, folder)
    finally:
        os.close(fd)
    return True
