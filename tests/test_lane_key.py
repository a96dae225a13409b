"""The lane of an instance (issue 29): every job of one instance goes to one lane
across hosts, whatever fields of its object are empty. The lane key used to be the
``reservation_id`` when set, else the UUID, so a delete of an instance whose
``reservation_id`` was empty went to another lane than its create and waited out
``create_wait``."""

from __future__ import annotations

from nova_hookspec._nova.standins import Instance
from nova_hookspec.deferred.brokers.rabbit import Rabbit, lane_number
from nova_hookspec.deferred.enqueue import meta, order_keys
from nova_hookspec.deferred.message import of_outbox as message_of
from nova_hookspec.deferred.transport import Broker


def _routed(values: dict[str, object]) -> str:
    """The lane queue the relay publishes the job of ``values`` to (8 lanes)."""
    keys = order_keys(values)
    job = {"host": "api-1", "number": 1, "plugin": "p", "hook": "h", "payload": "{}",
           "enqueued_at": 0.0, "keys": keys, **meta(values, keys)}
    rabbit = Rabbit(Broker(urls=("amqp://127.0.0.1:5672//",), shown="rabbit://x"), lanes=8)
    return rabbit.lane_for("p", message_of(job)["lane"])


def test_a_delete_with_an_empty_reservation_id_goes_to_its_creates_lane() -> None:
    lanes = set()
    for n in range(50):  # different UUIDs: different lanes for the old key, likely
        made = Instance(hostname=f"server-{n}")
        made.reservation_id = f"r-{n}"
        create = _routed({"result": ([made], f"r-{n}")})
        for empty in ("", None):
            gone = Instance(hostname=made.hostname, uuid=made.uuid)
            gone.reservation_id = empty
            assert _routed({"instance": gone}) == create
        kept = Instance(hostname=made.hostname, uuid=made.uuid)
        kept.reservation_id = f"r-{n}"
        assert _routed({"instance": kept}) == create
        lanes.add(create)
    assert len(lanes) > 1  # the key spreads instances over the lanes


def test_a_multi_create_goes_to_its_first_instances_lane() -> None:
    while True:  # instances whose first UUID's lane is not the reservation's
        made = [Instance(hostname=f"multi-{n}") for n in range(3)]
        first = min(i.uuid for i in made)
        if lane_number(first, 8) != lane_number("r-multi", 8):
            break
    alone = Instance(hostname="multi-x", uuid=first)
    alone.reservation_id = ""
    assert _routed({"result": (made, "r-multi")}) == _routed({"instance": alone})


def test_a_job_an_older_release_kept_with_a_reservation_lane_is_routed_by_its_instance(
) -> None:
    job = {"host": "api-1", "number": 1, "plugin": "p", "hook": "h", "payload": "{}",
           "enqueued_at": 0.0, "keys": ["u-1"], "lane": "r-old"}
    assert message_of(job)["lane"] == "u-1"
