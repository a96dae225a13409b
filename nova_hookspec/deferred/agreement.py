"""Hosts that disagree on ``broker_lanes``: found on the broker, not silent.

Every host routes a job to lane ``crc32(lane key) % broker_lanes``, and the
workers consume lanes ``0 .. broker_lanes - 1`` of their own setting. A
relaying host with *more* lanes than the workers publishes some jobs to
lanes no worker consumes: they would sit there, unseen. (A host with fewer
lanes is harmless: its lanes are among the workers'.)

What a host used is on the broker already: a relay declares every lane of
a plugin it relays (:meth:`.brokers.rabbit.Rabbit.declare`), so lane queues
numbered from the worker's ``broker_lanes`` up exist exactly when some host
has more. A worker looks for them when it connects and logs one ERROR line
per plugin naming the setting, both values, the jobs waiting there and the
live relays with another value (their records, :mod:`.presence`).
Lanes left by an earlier, larger setting look the same: the line says
so, and deleting those queues once empty silences it.

Defaults: lanes are looked for up to :data:`LOOK_UP_TO`.
"""

from __future__ import annotations

from typing import Any

#: The highest lane number looked for.
LOOK_UP_TO = 1024


def lanes_beyond(rabbit: Any, conn: Any, plugin: str) -> tuple[int, int]:
    """(lane queues of ``plugin`` on the broker, jobs ready in those numbered from
    ``rabbit.lanes`` up); (``rabbit.lanes`` or fewer, 0) when no host has more."""
    import amqp

    count, waiting = rabbit.lanes, 0
    while count < LOOK_UP_TO:
        channel = conn.channel()
        try:
            found = channel.queue_declare(rabbit.lane(plugin, count), passive=True)
        except amqp.exceptions.NotFound:  # the broker closed the channel: no such lane
            return count, waiting
        channel.close()
        waiting += int(found.message_count)
        count += 1
    return count, waiting


def disagreement(rabbit: Any, conn: Any, plugin: str) -> str | None:
    """One line naming ``broker_lanes`` and both values, or ``None`` when the broker
    has no lane of ``plugin`` beyond this host's."""
    count, waiting = lanes_beyond(rabbit, conn, plugin)
    if count <= rabbit.lanes:
        return None
    return (f"broker_lanes is {rabbit.lanes} here, but the broker has {count} lane queues "
            f"of plugin {plugin!r} (a host with broker_lanes = {count}, or an earlier "
            f"setting): {waiting} job(s) wait in lanes {rabbit.lanes}-{count - 1}, which no "
            "worker of this setting runs; set the same broker_lanes on every host"
            + _relaying(rabbit, conn, plugin))


def _relaying(rabbit: Any, conn: Any, plugin: str) -> str:
    """The live relays of ``plugin`` with another ``broker_lanes``, as their records on
    the broker say (:mod:`.presence`): ``"; relayed by api-1 (broker_lanes 12)"``."""
    from nova_hookspec.deferred import presence

    try:
        records = presence.read(rabbit, conn)
    except Exception:  # noqa: BLE001 - the line stands without them
        return ""
    found = sorted({f"{r['host']} (broker_lanes {r['broker_lanes']})" for r in records
                    if "relay" in r.get("roles", ()) and plugin in r.get("relays", ())
                    and r.get("broker_lanes") != rabbit.lanes})
    return f"; relayed by {', '.join(found)}" if found else ""
