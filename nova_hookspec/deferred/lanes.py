"""The order of the jobs in one lane queue, as its one consumer runs them.

A lane queue carries the jobs of one plugin for many instances, in the
order the relays published them. Its consumer holds up to
:data:`~.brokers.rabbit.PREFETCH` of them unacked and runs, each time, the
first job none of whose instances is held up by an earlier one. A job is
held up by:

* an earlier job of the same instance that is running or waiting for its
  retry (retries happen in place: the job stays unacked at its place, so
  the later jobs of its instance wait and the other instances' jobs run);
* for a delete, the create of its instance not seen yet. A delete whose
  instance was created less than ``create_wait`` seconds ago, and whose
  create job this consumer has not run, waits for it: the API host's relay
  may be slower than the compute host's, or stopped. The create job, when
  it comes, runs before the delete; if none comes within ``create_wait``
  of the instance's ``created_at`` the delete runs without it (the instance
  was made before deferral began, its create failed, or the lane moved to
  this consumer after the create ran elsewhere).

Jobs acked leave the lane; a consumer that goes away gives its unacked
jobs back to the queue at their places, and the next consumer rebuilds
this state from them. What it cannot rebuild from them is which creates
ran already: so a consumer that ran a create publishes a *receipt* (the
instances, no arguments) to the lane's receipts queue before it acks the
create, which expires after ``create_wait``; a consumer that takes a lane
reads the receipts first.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from nova_hookspec.deferred.message import LaneMessage

log = logging.getLogger("nova_hookspec.worker")

#: Instances whose create this consumer ran, remembered (most recent).
REMEMBERED_CREATES = 100_000


def kind_of(hook: str) -> str:
    if hook.startswith("create_instance"):
        return "create"
    if hook.startswith("delete_instance"):
        return "delete"
    return "other"


@dataclass
class Held:
    """One delivered, unacked job of the lane."""

    tag: int
    message: LaneMessage
    attempts: int = 0
    due: float = 0.0
    running: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    #: Whether its wait for its create was logged (once per delivery).
    said_wait: bool = False
    #: The instances it is about, and create/delete/other (worked out once).
    keys: frozenset[str] = field(init=False)
    kind: str = field(init=False)

    def __post_init__(self) -> None:
        self.keys = frozenset(self.message.get("keys") or ("",))
        self.kind = kind_of(self.message["hook"])


class LaneOrder:
    """What of one lane queue's delivered jobs may run now."""

    def __init__(self, create_wait: float) -> None:
        self.create_wait = create_wait
        self.held: list[Held] = []
        self.created: OrderedDict[str, None] = OrderedDict()

    def add(self, held: Held) -> None:
        self.held.append(held)

    def waits_for_create(self, held: Held, now: float) -> bool:
        created_at = held.message.get("created_at")
        if held.kind != "delete" or created_at is None:
            return False
        if all(key in self.created for key in held.keys):
            return False
        return now < float(created_at) + self.create_wait

    def next(self, now: float) -> tuple[Held | None, float | None]:
        """The first job that may run now, and (when none may) the earliest time
        one might without a new delivery."""
        busy: set[str] = set()  # keys held by a running or retrying job
        waiting: set[str] = set()  # keys whose delete waits for its create
        wake: float | None = None
        for held in self.held:
            keys = held.keys
            if held.kind != "create" and keys & waiting and not keys & busy:
                waiting |= keys  # behind a delete that waits: the create may still pass
                continue
            if keys & busy or held.running or held.due > now:
                busy |= keys
                if held.due > now and not held.running:
                    wake = held.due if wake is None else min(wake, held.due)
                continue
            if self.waits_for_create(held, now):
                waiting |= keys
                until = float(held.message.get("created_at") or 0.0) + self.create_wait
                if not held.said_wait:
                    held.said_wait = True
                    log.info("deferred job %s (%s, %s) waits for its instance's create, at "
                             "most until %s (create_wait)", held.message.get("id"),
                             held.message.get("plugin"), held.message.get("hook"),
                             time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(until)))
                wake = until if wake is None else min(wake, until)
                continue
            return held, None
        return None, wake

    def finished(self, held: Held) -> None:
        """``held`` is acked (done or dead): it leaves the lane."""
        self.held.remove(held)
        if held.kind == "create":
            self.saw_create(held.keys)

    def saw_create(self, keys: frozenset[str] | list[str]) -> None:
        """These instances' create ran (here, or where a receipt says)."""
        for key in keys:
            self.created[key] = None
            self.created.move_to_end(key)
        while len(self.created) > REMEMBERED_CREATES:
            self.created.popitem(last=False)

    def clear(self) -> None:
        """The consumer lost the lane (its channel closed): its jobs went back."""
        self.held.clear()
