"""Plant instances into Nova's databases through Nova's own objects.

Why Nova's objects and not SQL: the rows must be the rows Nova itself writes
(``Instance.create`` fills ``instance_extra``, the info cache and the
defaults of the release; an ``InstanceMapping`` in the API database tells the
API which cell holds the instance, a ``RequestSpec`` what the boot asked),
so the API lists them as it would list
real ones. No scheduler, conductor or compute runs: the instances are as a
compute host left them (``active``, on a host and node; Nova 27 and later
also want ``compute_id`` with ``node``).

``updated_at`` is set at create, so ``changes-since`` finds them; a deleted
instance is then saved as ``DELETED`` (which sets ``updated_at`` to now, as
Nova's delete does) and destroyed (Nova's soft delete: ``deleted``,
``deleted_at`` set), its mapping queued for delete, as Nova leaves them until
``nova-manage db archive_deleted_rows``: ``changes-since`` a time before the
planting finds them.

Usage (from the Nova environment)::

    python plant.py --config-file nova.conf --live 9000 --deleted 1000 \\
        --projects p1,p2,p3 --updated-at 2026-12-06T05:00:00 --processes 2

writes one JSON line per instance (``uuid``, ``project_id``, ``deleted``) to
stdout. ``--processes`` children each plant their share, ``BATCH`` instances
a transaction (Nova's objects join a transaction open on their context): a
commit per object would make the planting a matter of the disk's fsyncs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time
import uuid
from typing import Any

#: Instances written per transaction of each database (Nova's objects join it).
BATCH = 200


def _flavor(objects: Any) -> Any:
    return objects.Flavor(
        id=1, flavorid="1", name="novaapi.tiny", memory_mb=512, vcpus=1, root_gb=1,
        ephemeral_gb=0, swap=0, rxtx_factor=1.0, vcpu_weight=0, disabled=False,
        is_public=True, extra_specs={}, projects=[], description=None)


def _ensure_default_group(cctxt: Any) -> None:
    """The project's ``default`` security group, made before any batch: each
    ``Instance.create`` ensures it, and two processes racing to make it inside
    their batches' transactions would fail one (Nova's own retry reads in the
    losing transaction, which cannot see the winner's row)."""
    try:
        from nova.db.main import api as main_db
    except ImportError:
        from nova.db import api as main_db  # Nova < 25
    for attempt in range(5):
        try:
            main_db.security_group_ensure_default(cctxt)
            return
        except Exception:  # the other process won the race: read it again
            if attempt == 4:
                raise
            time.sleep(0.2)


def _cell_writer(cctxt: Any) -> Any:
    """The transaction writer of ``cctxt``'s cell database."""
    try:
        from nova.db.main import api as main_db
    except ImportError:  # Nova < 25
        from nova.db.sqlalchemy import api as main_db
    return main_db.get_context_manager(cctxt).writer


def _api_writer() -> Any:
    """The API database's transaction writer."""
    try:
        from nova.db.api import api as api_db
    except ImportError:  # Nova < 25
        from nova.db.sqlalchemy import api as db

        return db.api_context_manager.writer
    return api_db.context_manager.writer


class Planter:
    """One process's share: the global indexes ``shard, shard + shards, ...``."""

    def __init__(self, args: argparse.Namespace) -> None:
        from nova import config, context, objects

        config.parse_args(["plant", "--config-file", args.config_file])
        objects.register_all()
        self.args = args
        self.context = context
        self.objects = objects
        self.admin = context.get_admin_context()
        [self.cell] = [c for c in objects.CellMappingList.get_all(self.admin)
                       if c.name == "cell1"]
        self.projects = args.projects.split(",")
        self.updated_at = datetime.datetime.fromisoformat(args.updated_at).replace(
            tzinfo=datetime.timezone.utc)
        self.flavor = _flavor(objects)

    def _project_context(self, project: str) -> Any:
        """An admin context of ``project`` in cell1: the instance's default security
        group is its project's, as when the project's user boots it."""
        made = self.context.RequestContext(user_id=f"user-{project}", project_id=project,
                                           is_admin=True)
        self.context.set_target_cell(made, self.cell)
        return made

    def run(self) -> None:
        total = self.args.live + self.args.deleted
        mine = list(range(self.args.shard, total, self.args.shards))
        contexts = {project: self._project_context(project) for project in self.projects}
        for cctxt in contexts.values():
            _ensure_default_group(cctxt)
        for project, cctxt in contexts.items():  # one open transaction at a time
            theirs = [i for i in mine if self.projects[i % len(self.projects)] == project]
            for start in range(0, len(theirs), BATCH):
                with _api_writer().using(self.admin), _cell_writer(cctxt).using(cctxt):
                    for index in theirs[start:start + BATCH]:
                        self.one(cctxt, index)
        sys.stdout.flush()

    def one(self, cctxt: Any, index: int) -> None:
        from nova.compute import power_state, vm_states
        from nova.network import model as network_model

        objects, admin = self.objects, self.admin
        project, user = cctxt.project_id, cctxt.user_id
        fields: dict[str, Any] = {
            "uuid": str(uuid.uuid4()), "project_id": project, "user_id": user,
            "display_name": f"planted-{index}", "hostname": f"planted-{index}",
            "host": "compute-1", "node": "compute-1.node",
            "vm_state": vm_states.ACTIVE, "power_state": power_state.RUNNING,
            "task_state": None, "flavor": self.flavor, "instance_type_id": 1,
            "memory_mb": 512, "vcpus": 1, "root_gb": 1, "ephemeral_gb": 0,
            "image_ref": "00000000-0000-0000-0000-00000000abcd",
            "availability_zone": "nova", "launched_at": self.updated_at,
            "updated_at": self.updated_at, "metadata": {}, "system_metadata": {},
            "info_cache": objects.InstanceInfoCache(network_info=network_model.NetworkInfo([])),
        }
        if "compute_id" in objects.Instance.fields:
            fields["compute_id"] = 1
        instance = objects.Instance(context=cctxt, **fields)
        instance.create()
        deleted = index >= self.args.live
        objects.InstanceMapping(
            context=admin, instance_uuid=instance.uuid, cell_mapping=self.cell,
            project_id=project, user_id=user, queued_for_delete=deleted).create()
        objects.RequestSpec(
            context=admin, instance_uuid=instance.uuid, project_id=project, user_id=user,
            flavor=self.flavor, num_instances=1, scheduler_hints={}, availability_zone="nova",
            image=objects.ImageMeta.from_dict({}), ignore_hosts=[], force_hosts=[],
            force_nodes=[]).create()
        if deleted:  # as Nova's delete leaves it: saved as DELETED, then destroyed
            instance.vm_state = vm_states.DELETED
            instance.power_state = power_state.NOSTATE
            instance.terminated_at = datetime.datetime.now(datetime.timezone.utc)
            instance.save()
            instance.destroy()
        print(json.dumps({"uuid": instance.uuid, "project_id": project, "deleted": deleted}))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--live", type=int, default=0)
    parser.add_argument("--deleted", type=int, default=0)
    parser.add_argument("--projects", default="project-a,project-b,project-c")
    parser.add_argument("--updated-at", required=True, help="ISO time, UTC")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--shard", type=int, default=-1, help=argparse.SUPPRESS)
    parser.add_argument("--shards", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.shard >= 0:
        Planter(args).run()
        return 0
    shards = max(1, min(args.processes, args.live + args.deleted))
    children = [subprocess.Popen([sys.executable, __file__, *argv, "--shard", str(shard),
                                  "--shards", str(shards)], stdout=subprocess.PIPE)
                for shard in range(shards)]
    failed = 0
    for child in children:
        out, _ = child.communicate()
        sys.stdout.buffer.write(out)
        failed = failed or child.returncode
    sys.stdout.flush()
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
