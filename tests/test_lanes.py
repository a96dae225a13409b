"""The order one lane's consumer keeps (``nova_hookspec.deferred.lanes``), driven as
the consumer drives it: deliveries in the queue's order, runs that succeed or fail,
time passing. The broker tests (tests_broker/) show it with RabbitMQ and processes."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from nova_hookspec.deferred.lanes import Held, LaneOrder

NOW = 1_000_000.0
_tags = itertools.count(1)


def job(hook: str, *uuids: str, created_at: float | None = None) -> Held:
    message = {"id": f"h:{next(_tags)}", "hook": hook, "keys": list(uuids)}
    if created_at is not None:
        message["created_at"] = created_at
    return Held(next(_tags), message)


def run_all(order: LaneOrder, now: float, fail: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """Run what may run until nothing may; the ids in the order they ran."""
    ran = []
    while True:
        held, _wake = order.next(now)
        if held is None:
            return ran
        ran.append(held.message["id"])
        if held.message["id"] in fail:
            held.due = now + 10  # a retry in place
        else:
            order.finished(held)


def test_jobs_of_one_instance_run_in_order_and_others_pass_a_retrying_one() -> None:
    order = LaneOrder(create_wait=600)
    a1, a2, b1 = job("build_and_run_instance_post", "a"), job("delete_instance_post", "a"), \
        job("build_and_run_instance_post", "b")
    for held in (a1, a2, b1):
        order.add(held)
    ran = run_all(order, NOW, fail={a1.message["id"]})
    assert ran == [a1.message["id"], b1.message["id"]]  # a2 waits behind a1's retry
    held, wake = order.next(NOW)
    assert held is None
    assert wake == NOW + 10
    a1.due = 0.0
    assert run_all(order, NOW + 10) == [a1.message["id"], a2.message["id"]]


def test_a_delete_waits_for_its_create_which_runs_first_when_it_comes() -> None:
    order = LaneOrder(create_wait=600)
    delete = job("delete_instance_post", "a", created_at=NOW - 5)
    other = job("delete_instance_post", "b", created_at=NOW - 5000)  # old: no wait
    order.add(delete)
    order.add(other)
    assert run_all(order, NOW) == [other.message["id"]]
    held, wake = order.next(NOW)
    assert held is None
    assert wake == NOW - 5 + 600  # the bound: created_at + create_wait
    create = job("create_instance_post", "a", "c")  # a multi-create
    order.add(create)
    assert run_all(order, NOW) == [create.message["id"], delete.message["id"]]


def test_a_delete_whose_create_never_comes_runs_at_the_bound() -> None:
    order = LaneOrder(create_wait=600)
    delete = job("delete_instance_post", "a", created_at=NOW)
    order.add(delete)
    assert run_all(order, NOW + 599) == []
    assert run_all(order, NOW + 600) == [delete.message["id"]]


def test_a_receipt_from_an_earlier_consumer_lets_the_delete_run() -> None:
    order = LaneOrder(create_wait=600)
    order.saw_create(["a"])
    delete = job("delete_instance_post", "a", created_at=NOW)
    order.add(delete)
    assert run_all(order, NOW) == [delete.message["id"]]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["create", "build", "delete"]),
                          st.sampled_from("abcd"), st.booleans()), max_size=30))
def test_per_instance_order_holds_whatever_the_deliveries_and_failures(
        plan: list[tuple[str, str, bool]]) -> None:
    """Whatever arrives (creates possibly after their deletes) and whichever runs
    fail once: per instance, jobs run in delivery order, except that a create
    passes the delete that waits for it (and what waits behind that delete);
    a delete never runs before its create; every job runs."""
    order = LaneOrder(create_wait=600)
    hooks = {"create": "create_instance_post", "build": "build_and_run_instance_post",
             "delete": "delete_instance_post"}
    delivered = [job(hooks[kind], uuid, created_at=NOW) for kind, uuid, _ in plan]
    failing = {h.message["id"] for h, (_, _, fails) in zip(delivered, plan) if fails}
    for held in delivered:
        order.add(held)
    finished: list[Held] = []
    now = NOW
    for _ in range(10 * len(plan) + 10):
        held, wake = order.next(now)
        if held is None:
            if wake is None:
                break
            now = wake
            continue
        if held.message["id"] in failing:
            failing.discard(held.message["id"])
            held.due = now + 1
            continue
        order.finished(held)
        finished.append(held)
    assert len(finished) == len(delivered)
    position = {id(h): n for n, h in enumerate(finished)}
    creates_of = {}
    for held in finished:
        if held.kind == "create":
            creates_of.setdefault(next(iter(held.keys)), position[id(held)])
    for first, second in itertools.combinations(delivered, 2):
        if first.keys != second.keys:
            continue
        if (first.kind == "create") == (second.kind == "create"):
            # creates among themselves, and the other jobs among themselves: in order
            assert position[id(first)] < position[id(second)]
    for held in finished:
        if held.kind == "delete" and next(iter(held.keys)) in creates_of:
            key = next(iter(held.keys))
            # a delete runs after its instance's first create when one was delivered
            # before the bound (all here): never before it
            assert creates_of[key] < position[id(held)]
