"""Lane messages a runner cannot read: a poison message goes to the dead letters.

A lane queue should hold only what a relay published (:func:`.message.
of_outbox`), but anything with the permissions can publish to it: a tool
replaying messages, an older or newer release, a hand-made test message. A
runner that raised on such a message would lose its connection, get the
message back at the head of the lane and raise again: the lane's good jobs
would never run and the message would never be seen. So a runner reads
every delivery through :func:`read`, and one that is not JSON, or not a job
of the lane's shape, becomes a dead letter (:func:`dead_letter`) with the
reason and its raw bytes, bounded (:data:`RAW_KEPT`), base64; the delivery
is then acked and the lane goes on. Such a dead letter, id
``unreadable:NUMBER`` (a digest of the lane and the bytes), can be listed and
dropped; it cannot be retried (there is no job in it to run).

Defaults: :data:`RAW_KEPT` bytes of the message are kept (4 KiB).
"""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

from nova_hookspec.deferred.message import UnreadableError, read

#: Bytes of an unreadable message kept in its dead letter.
RAW_KEPT = 4096

# The message's shape and its reading are the lane message's (:mod:`.message`).
__all__ = ["RAW_KEPT", "UnreadableError", "dead_letter", "read"]


def dead_letter(queue: str, plugin: str, body: bytes | str, reason: str) -> dict[str, Any]:
    """The dead letter of an unreadable message of lane ``queue`` (of ``plugin``)."""
    raw = body.encode("utf-8", "surrogateescape") if isinstance(body, str) else bytes(body)
    now = time.time()
    digest = int(hashlib.sha256(queue.encode() + raw).hexdigest()[:12], 16)
    return {"id": f"unreadable:{digest}", "plugin": plugin, "hook": "",
            "enqueued_at": now, "died_at": now, "queue": queue, "unreadable": reason,
            "raw": base64.b64encode(raw[:RAW_KEPT]).decode("ascii"), "raw_size": len(raw),
            "history": [{"attempt": 0, "at": now,
                         "error": f"unreadable message in {queue}: {reason}"}]}
