"""The demo's epilogue: a plugin added to a running cloud catches up with it (a backfill).

A DNS plugin is installed after three instances were created: its hooks
never saw them, and its zone still holds the record of an instance deleted
long ago. A reconcile pass (``nova-hookspec reconcile``) compares Nova's
instances (here three stand-in servers as Nova's compute API lists them; in
a cloud, the API itself through openstacksdk) with what the plugin says its
system holds (``known_instances``), and queues the plugin's deferred
``create_instance_post`` for each instance missing there and
``delete_instance_post`` for the stale record. The worker runs them through
the same journal, lanes and retries as the jobs of hooked calls; the plugin
sees ``delivery.source == "reconcile"``.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from typing import Any, TextIO

from nova_hookspec import Delivery, hookimpl
from nova_hookspec._cli.demo_deferred import scratch
from nova_hookspec._nova.standins import Instance
from nova_hookspec._plugins.manager import NovaPluginManager
from nova_hookspec.deferred.settings import Settings
from nova_hookspec.deferred.worker import Worker
from nova_hookspec.reconcile import run as _reconcile

NAME = "demo-dns-zone"


class Zone:
    """A DNS zone that holds one stale record and none of the running instances."""

    def __init__(self, out: TextIO, stale: str) -> None:
        self.out = out
        self.records = {stale: "old-9"}

    @hookimpl
    def known_instances(self) -> Iterator[str]:
        yield from list(self.records)

    @hookimpl(deferred=True)
    def create_instance_post(self, result: tuple[list[Instance], str],
                             delivery: Delivery) -> None:
        for instance in result[0]:
            self.records[instance.uuid] = instance.hostname
            print(f"      [worker] {NAME}: job {delivery.job_id} ({delivery.source}): "
                  f"{instance.hostname}.example.org A added", file=self.out)

    @hookimpl(deferred=True)
    def delete_instance_post(self, instance: Instance, delivery: Delivery) -> None:
        name = self.records.pop(instance.uuid, "?")
        print(f"      [worker] {NAME}: job {delivery.job_id} ({delivery.source}): "
              f"{name}.example.org removed", file=self.out)


class StandInNova:
    """Nova's compute API as a reconcile pass reads it: three servers, two days old."""

    def __init__(self) -> None:
        made = (datetime.datetime.now(datetime.timezone.utc)
                - datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.servers = {
            str(uuid.uuid4()): {"name": name, "status": "ACTIVE", "created": made,
                                "updated": made, "tenant_id": "demo",
                                "OS-EXT-SRV-ATTR:reservation_id": f"r-{name}"}
            for name in ("app-1", "app-2", "app-3")}
        for server_id, server in self.servers.items():
            server["id"] = server_id

    def live(self) -> dict[str, dict[str, Any]]:
        return dict(self.servers)

    def deleted(self, since: float, wanted: set[str]) -> dict[str, dict[str, Any]]:
        return {}  # the stale record's instance is long purged: its UUID is all there is


def run(pm: NovaPluginManager, out: TextIO) -> None:
    """Add a plugin to a cloud with three instances, reconcile, let the worker catch up."""
    print(f"\n7. a backfill: {NAME} is installed in a cloud that already runs three "
          "instances; its\n   hooks never saw them, and its zone still names an instance "
          "deleted long ago. A\n   reconcile pass (nova-hookspec reconcile) compares Nova's "
          "instances with what the\n   plugin lists (known_instances) and queues the jobs "
          "that make them match.", file=out)
    zone, nova = Zone(out, str(uuid.uuid4())), StandInNova()
    with scratch(pm, zone, NAME) as journal:
        report = _reconcile.run(pm, _reconcile.Options(plugins=[NAME]), nova)
        [drift] = report["plugins"]
        print(f"   -> reconcile: {drift['missing']} missing in the zone, {drift['stale']} "
              f"stale there; {sum(report['queued'].values())} jobs queued", file=out)
        Worker(journal, pm, Settings(journal=journal.path), lanes=1, poll=0.05).run(drain=True)
        again = _reconcile.run(pm, _reconcile.Options(plugins=[NAME]), nova)
        left = sum(p["missing"] + p["stale"] for p in again["plugins"])
        print(f"   -> the zone holds {len(zone.records)} records; a second pass finds "
              f"{left} to do", file=out)
