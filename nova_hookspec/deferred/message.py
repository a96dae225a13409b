"""The lane message: one job as the broker carries it, from a relay to a lane runner.

Why a type of its own: a relay writes it (:func:`of_outbox`), a runner reads
it back from bytes anyone with the permissions could have published
(:func:`read`), the lane's record keys it (:func:`run_key`) and the runner
turns it into the :class:`~.jobs.Job` the plugin's run is about
(:func:`job_of`). With one declaration of its fields, a field added on one
side cannot be forgotten on the other (a reconcile job's ``source`` once
was: its plugin saw ``"hook"`` across hosts).

It stays a JSON object on the wire, so that a worker of the previous release
and one of this release read each other's messages during an upgrade; in the
code it is a :class:`LaneMessage` (a ``TypedDict``: what is required, what
may be missing, each field's type, checked by mypy).
"""

from __future__ import annotations

import json
import time
from typing import Any, TypedDict, cast

from nova_hookspec.deferred.jobs import Job


class _Required(TypedDict):
    id: str  # HOST:NUMBER, as plugins see it (Delivery.job_id)
    host: str  # the host whose journal wrote it
    number: int  # its number in that journal
    plugin: str
    hook: str
    payload: str  # the carried arguments (:mod:`.carry`), JSON
    enqueued_at: float  # when the hooked call wrote it
    keys: list[str]  # the instances it is about


class LaneMessage(_Required, total=False):
    """A job on the broker. The optional fields: ``lane`` (the instance whose lane it
    is in), ``created_at`` (a delete's instance's, for the create wait), ``relayed_at``,
    ``retried`` (how often an operator sent it back from the dead letters),
    ``history`` (its failed attempts), ``source`` (``"hook"`` or ``"reconcile"``)."""

    lane: str
    created_at: float | None
    relayed_at: float
    retried: int
    history: list[dict[str, Any]]
    source: str


class UnreadableError(ValueError):
    """A lane message is not a job; its text is the reason, said in one line."""


#: Each field and the types it may have (JSON numbers: int or float; bool is no number).
_REQUIRED: dict[str, tuple[type, ...]] = {
    "id": (str,), "host": (str,), "number": (int,), "plugin": (str,), "hook": (str,),
    "payload": (str,), "enqueued_at": (int, float), "keys": (list,),
}
_OPTIONAL: dict[str, tuple[type, ...]] = {
    "lane": (str,), "created_at": (int, float, type(None)), "relayed_at": (int, float),
    "retried": (int,), "history": (list,), "source": (str,),
}


def read(body: bytes | bytearray | str) -> LaneMessage:
    """The job in a lane message's ``body``.

    :raises UnreadableError: not UTF-8 JSON, not an object, or a field missing or of
        the wrong type (the first one found is named).
    """
    try:
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
        found = json.loads(text)
    except UnicodeDecodeError as exc:
        raise UnreadableError(f"not UTF-8 text (byte {exc.start})") from None
    except ValueError as exc:
        raise UnreadableError(f"not JSON ({exc})") from None
    except RecursionError:  # json's parser recurses once per level of nesting
        raise UnreadableError("JSON nested too deep to read") from None
    if not isinstance(found, dict):
        raise UnreadableError(f"a JSON {type(found).__name__}, not an object")
    for name, types in _REQUIRED.items():
        if name not in found:
            raise UnreadableError(f"no field {name!r}")
        if not isinstance(found[name], types) or isinstance(found[name], bool):
            raise UnreadableError(f"field {name!r} is a {type(found[name]).__name__}")
    for name, types in _OPTIONAL.items():
        if name in found and not isinstance(found[name], types):
            raise UnreadableError(f"field {name!r} is a {type(found[name]).__name__}")
    if not all(isinstance(key, str) for key in found["keys"]):
        raise UnreadableError("field 'keys' holds something other than strings")
    return cast(LaneMessage, found)


def of_outbox(job: dict[str, Any]) -> LaneMessage:
    """The message of a job from a journal's outbox (:meth:`.brokers.journal.Journal.
    outbox`: its columns and its ``meta``)."""
    keys = [str(key) for key in job["keys"]]
    message: LaneMessage = {
        "id": f"{job['host']}:{job['number']}", "host": job["host"], "number": job["number"],
        "plugin": job["plugin"], "hook": job["hook"], "payload": job["payload"],
        "enqueued_at": job["enqueued_at"], "keys": keys,
        # Its first instance, whatever the journal kept (an older version kept a
        # reservation_id there): every job of an instance in one lane.
        "lane": keys[0] if keys else str(job.get("lane") or ""),
        "created_at": job.get("created_at"), "relayed_at": time.time(), "history": [],
    }
    if job.get("source", "hook") != "hook":
        message["source"] = str(job["source"])
    return message


def run_key(message: LaneMessage) -> tuple[str, int, float]:
    """What names one run-to-be of a job in a lane's record: its id, how often an
    operator sent it back, and when it was written (a journal made anew restarts its
    numbers)."""
    return (message["id"], int(message.get("retried", 0)), float(message["enqueued_at"]))


def job_of(message: LaneMessage, attempts: int,
           history: list[dict[str, Any]]) -> Job:
    """The job a lane runner runs for ``message``, on its ``attempts``-th run."""
    return Job(message["number"], message["plugin"], message["hook"], message["payload"],
               attempts, message["enqueued_at"], host=message["host"], history=history,
               keys=tuple(message["keys"]), source=message.get("source", "hook"))
