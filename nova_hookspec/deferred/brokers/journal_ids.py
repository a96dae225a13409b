"""Job numbers are never handed out twice on a host, even by a journal made anew.

Plugins see a job's id (``Delivery.job_id``, ``HOST:N``) and may use it as an
idempotency key in their own systems; across hosts the lane records remember
the ids that ran. A journal numbers its jobs itself (SQLite's
``AUTOINCREMENT``), so a journal made fresh without carrying the old one's
jobs over (an operator who deleted it while no process ran, an older copy
restored) started again at 1, and a new job got the id of one a plugin had
seen: the plugin took it for the old one, done already.

So the numbers handed out are also marked in a small file beside the journal,
``<journal>.ids`` (mode 0600, owned as its folder): one decimal number, the
highest job number this host may have handed out. A journal opened for
writing numbers its next job after it (:func:`floor`). The mark is moved
ahead in steps of :data:`STEP` numbers, before the job that passes it is
committed (written to a new file, synced, then renamed over the old one), so
writing it costs one small synced write per :data:`STEP` jobs. After a fresh
journal the numbers go on from the mark (a gap of up to :data:`STEP`).

A mark deleted while a worker runs is written again at its next job (each
job checks that the file is there: one ``stat``), so a journal lost later
does not find the numbers unmarked.

A damaged mark (not a decimal number from 0 to :data:`HIGHEST`: garbage, empty,
negative, ``1e20``, past what SQLite's 64-bit ids can go on from) is never read
as 0, which would hand out again the ids a plugin saw: :func:`floor` raises
:class:`DamagedMark`. A journal that has numbered jobs goes on from its own
numbers, says so in one ERROR line naming the file, and writes the mark anew at
its next job; a journal that has numbered nothing yet (the old one lost) is
refused, in one line naming the file, until an operator writes the highest
number this host handed out into it (or removes it: numbering starts again at
1, knowingly).

What it does not cover: the mark file deleted as well as the journal (a host
wiped clean) starts numbering again at 1, as a new host would.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re

from nova_hookspec.deferred import ownership

#: Job numbers reserved by one write of the mark.
STEP = 1000

#: The highest mark read as one: numbering goes on after it within SQLite's int64.
HIGHEST = 2**62

_NUMBER = re.compile(rb"\s*([0-9]{1,19})\s*")
_said: set[str] = set()
log = logging.getLogger("nova_hookspec")


class DamagedMark(ValueError):  # noqa: N818 - a kind of ValueError, as it reads
    """The mark file holds nothing :func:`reserve` could have written; its message is
    one line naming the file."""


def path_of(journal: str) -> str:
    """The mark file of the journal at ``journal``."""
    return f"{journal}.ids"


def floor(journal: str) -> int:
    """The highest job number the journal at ``journal`` may have handed out, as its
    mark says; 0 without a mark.

    :raises DamagedMark: the mark is there but not a number from 0 to :data:`HIGHEST`.
    """
    target = path_of(journal)
    try:
        with open(target, "rb") as f:
            text = f.read(64)
    except OSError:  # none (or unreadable: writing it says why, at the next job)
        return 0
    found = _NUMBER.fullmatch(text)
    if found is None or int(found.group(1)) > HIGHEST:
        raise DamagedMark(f"the job-number mark {target} is damaged ({text[:24]!r} is not "
                          f"a whole number from 0 to {HIGHEST})")
    return int(found.group(1))


def floor_going_on(journal: str, numbered: int) -> int:
    """:func:`floor`, or 0 when the mark is damaged and the journal has numbered up to
    ``numbered`` (it goes on from its own numbers: said once per process, in an
    ERROR line).

    :raises DamagedMark: damaged, and the journal has numbered nothing (``numbered``
        0): where the numbers handed out before it end is unknown.
    """
    try:
        return floor(journal)
    except DamagedMark as exc:
        if numbered <= 0:
            raise DamagedMark(
                f"{exc}: the journal has numbered no job yet, so no job id is handed out "
                "(one a plugin saw could come again); write into it the highest job "
                "number this host handed out, or remove it to number from 1 again"
            ) from None
        if journal not in _said:
            _said.add(journal)
            log.error("%s: job numbers go on from the journal's own (%d); the mark is "
                      "written anew at the next job", exc, numbered)
        return 0


def reserve(journal: str, number: int) -> int:
    """Move the mark to at least ``number + STEP`` (synced before it returns); the
    mark now."""
    mark = max(floor_going_on(journal, number), number + STEP)
    target = path_of(journal)
    temporary = f"{target}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)  # left by a process that died mid-write, with this pid
    fd = ownership.open_new(temporary, os.O_WRONLY)
    try:
        os.write(fd, f"{mark}\n".encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, target)
    folder = os.open(os.path.dirname(os.path.abspath(target)), os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a power loss
    finally:
        os.close(folder)
    return mark
