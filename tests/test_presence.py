"""What a worker says of itself on the broker (``nova_hookspec.deferred.presence``),
in process: the line that names a ``broker_lanes`` disagreement, the plugins no
worker runs, and why each job a lane runner holds waits. The broker side is shown
by ``tests_broker/test_agreement.py``."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from nova_hookspec.deferred import presence
from nova_hookspec.deferred.lanes import Held, LaneOrder


def _record(name: str, lanes: int, roles: list[str], runs: list[str]) -> dict[str, Any]:
    return {"name": name, "host": name.partition(":")[0], "roles": roles, "broker_lanes": lanes,
            "runs": runs, "relays": [], "at": 0.0}


def test_a_lane_count_differing_from_a_live_workers_is_named_with_both_values() -> None:
    records = [_record("api-1:1", 12, ["relay"], []), _record("w-1:7", 4, ["worker"], ["p"])]
    said = presence.lane_problem(12, "api-2", records)
    assert said == ("broker_lanes is 12 here (host api-2), but 4 on host w-1 (worker w-1:7); "
                    "set the same broker_lanes on every host")
    assert presence.lane_problem(4, "api-2", records) is None  # a relay is not the reference
    assert presence.lane_problem(12, "w-1", records, but="w-1:7") is None  # not itself


def test_plugins_no_live_worker_runs() -> None:
    records = [_record("w-1:7", 4, ["worker"], ["p"]), _record("api-1:1", 4, ["relay"], [])]
    assert presence.unrun(["p", "q"], records) == ["q"]
    found = presence.problems(4, "api-1", ["p", "q"], records)
    assert found == ["no worker runs plugin q, deferred here (host api-1): its jobs wait on "
                     "the broker; install and enable it on a worker host"]


def _held(tag: int, hook: str, key: str, **more: Any) -> Held:
    message = {"id": f"h:{tag}", "plugin": "p", "hook": hook, "keys": [key],
               "enqueued_at": 1.0, **more.pop("message", {})}
    return Held(tag, message, **more)


def test_why_each_held_job_waits_and_since_when() -> None:
    order = LaneOrder(create_wait=600)
    now = 1000.0
    order.add(_held(1, "delete_instance_post", "u-1", message={"created_at": now - 5}))
    order.add(_held(2, "create_instance_post", "u-2", attempts=1, due=now + 20,
                    history=[{"attempt": 1, "at": now - 1, "error": "E"}]))
    order.add(_held(3, "delete_instance_post", "u-2", message={"created_at": 0.0}))
    order.add(_held(4, "create_instance_post", "u-3", running=True))
    order.add(_held(5, "create_instance_post", "u-4"))
    runner = SimpleNamespace(name="w-1:7/0", mine={"lane.p.0": None},
                             _order=lambda lane: order)
    since = presence.Since()
    first = presence.holding([runner], since, now)
    assert [(j["id"], j["why"]) for j in first] == [
        ("h:1", "waiting for its create"), ("h:2", "retrying in place"),
        ("h:3", "waiting its turn (an earlier job of its instance)"), ("h:4", "running"),
        ("h:5", "waiting its turn")]
    assert first[1]["due_at"] == now + 20
    assert first[1]["history"][-1]["error"] == "E"
    later = presence.holding([runner], since, now + 2)
    assert [j["since"] for j in later] == [now] * 5  # since the first look that saw it
    order.held[1].due = 0.0  # its retry is due: it waits its turn now, since then
    assert presence.holding([runner], since, now + 4)[1]["since"] == now + 4
