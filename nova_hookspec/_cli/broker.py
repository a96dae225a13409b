"""``deferred ...`` when a broker carries the jobs: this host's outbox with the lanes.

The ``deferred`` commands show this host's outbox and the broker's lanes,
and reach the broker's dead letters (ids ``HOST:NUMBER``). What the lane
runners hold unacked, which RabbitMQ shows to no other connection, comes
from the records the workers publish (:mod:`nova_hookspec.deferred.presence`);
the jobs ready in lanes no runner holds are looked at in place. The worker
across hosts is :mod:`nova_hookspec.deferred.service`.
"""

from __future__ import annotations

from typing import Any

from nova_hookspec._plugins.process import get_plugin_manager
from nova_hookspec.deferred import presence
from nova_hookspec.deferred.brokers.rabbit import Rabbit
from nova_hookspec.deferred.consumer import deferred_plugins


def _plugins(local: dict[str, Any]) -> list[str]:
    pm = get_plugin_manager()
    pm.load_all()
    return sorted({*deferred_plugins(pm), *(row["plugin"] for row in local["counters"])})


def status(rabbit: Rabbit, local: dict[str, Any], down_ok: bool = False) -> dict[str, Any]:
    """``local`` (this host's journal: its outbox) with the broker's lanes, the jobs
    the lane runners hold and the plugins no worker runs; with ``down_ok``, a broker
    that cannot be reached is said (``broker_down``: why) instead of raised, so that
    the outbox is still shown."""
    plugins = _plugins(local)
    try:
        found = rabbit.status(plugins)
        records = _records(rabbit)
    except ConnectionError as exc:
        if not down_ok:
            raise
        return {**local, "outbox": local["pending"], "broker_down": str(exc)}
    held = [job for record in records for job in record.get("holding", ())]
    unrun = set(presence.unrun(plugins, records))
    found["held"] = len(held)
    found["held_why"] = _counted(job["why"] for job in held)
    found["unrun"] = [{"plugin": plugin, "queued": sum(lane["ready"] for lane in found["lanes"]
                                                      if lane["plugin"] == plugin)}
                      for plugin in plugins if plugin in unrun]
    found["processes"] = [{key: record.get(key) for key in
                           ("name", "host", "roles", "broker_lanes", "runs", "relays",
                            "version", "at")} for record in records]
    return {**local, "outbox": local["pending"], "broker": found}


def _counted(whys: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for why in whys:
        counts[why] = counts.get(why, 0) + 1
    return counts


def _records(rabbit: Rabbit) -> list[dict[str, Any]]:
    conn = rabbit.connect()
    try:
        return presence.read(rabbit, conn)
    finally:
        conn.release()


def jobs(rabbit: Rabbit, local: dict[str, Any]) -> list[dict[str, Any]]:
    """Every job the broker holds: those its lane runners hold (with why and since
    when) and those ready in lanes no runner holds."""
    plugins = _plugins(local)
    found = rabbit.status(plugins)
    conn = rabbit.connect()
    try:
        records = presence.read(rabbit, conn)
        held = [{**job, "worker": record["name"]} for record in records
                for job in record.get("holding", ())]
        unheld = {lane["queue"]: lane["ready"] for lane in found["lanes"]
                  if lane["ready"] and not lane["consumers"]}
        ready = presence.ready(conn, unheld)
    finally:
        conn.release()
    unrun = set(presence.unrun(plugins, records))
    for job in ready:
        job["worker"] = None
        if job["plugin"] in unrun:
            job["why"] = f"no worker runs plugin {job['plugin']}"
    return held + ready
