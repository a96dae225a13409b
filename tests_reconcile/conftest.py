"""A real Nova API for the reconcile tests: ``nova_cloud``.

Run by ``nox -s reconcile`` in a Nova environment built as deployment tools
build it (the series' upper-constraints), on this machine's MariaDB
(127.0.0.1:3306, root). Each test gets databases of its own, made by
``nova-manage`` and dropped afterwards, gunicorn serving Nova's API over them,
the Neutron/Placement/Glance stand-ins, and a clouds.yaml naming that API.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from novaenv import NovaAPI
from standins import StandIns

HERE = Path(__file__).resolve().parent
#: The cloud's name in the fixture's clouds.yaml.
CLOUD = "novaapi"


def utcnow() -> datetime.datetime:
    """Now, UTC, naive, to the second (as Nova stores ``updated_at``)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0)


@dataclass
class Planted:
    """What one ``plant`` call put into Nova: uuid -> project, live and deleted."""

    live: dict[str, str] = field(default_factory=dict)
    deleted: dict[str, str] = field(default_factory=dict)
    updated_at: datetime.datetime | None = None


@dataclass
class NovaCloud:
    """What a test gets: the running API, its clouds.yaml, planting, the fault switch."""

    api: NovaAPI
    standins: StandIns
    clouds_yaml: Path
    cloud: str = CLOUD

    @property
    def endpoint(self) -> str:
        return self.api.endpoint

    def env(self) -> dict[str, str]:
        """Environment variables that make openstacksdk (and so ``nova-hookspec
        reconcile``) use this cloud: ``OS_CLIENT_CONFIG_FILE`` and ``OS_CLOUD``."""
        return {"OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml), "OS_CLOUD": self.cloud}

    def plant(self, live: int = 0, deleted: int = 0,
              projects: Sequence[str] = ("project-a", "project-b", "project-c"),
              updated_at: datetime.datetime | None = None, processes: int = 2) -> Planted:
        """``live`` active instances and ``deleted`` ones (destroyed now, so
        ``changes-since`` a time before this call finds them), spread over
        ``projects``, ``updated_at`` (default: now) on each."""
        stamp = updated_at or utcnow()
        command = [sys.executable, str(HERE / "plant.py"), "--config-file", str(self.api.conf),
                   "--live", str(live), "--deleted", str(deleted),
                   "--projects", ",".join(projects), "--updated-at", stamp.isoformat(),
                   "--processes", str(processes)]
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              timeout=900)
        assert done.returncode == 0, f"plant.py: {done.stderr[-3000:]}"
        planted = Planted(updated_at=stamp)
        for line in done.stdout.splitlines():
            row = json.loads(line)
            (planted.deleted if row["deleted"] else planted.live)[row["uuid"]] = row["project_id"]
        assert (len(planted.live), len(planted.deleted)) == (live, deleted), done.stderr[-3000:]
        return planted

    def fail_listings(self, from_request: int, status: int = 500) -> None:
        """The API fails the ``from_request``-th server listing request (each page is
        one) and every later one with ``status``, until ``heal``."""
        self.api.fail_listings(from_request, status)

    def heal(self) -> None:
        self.api.heal()


@pytest.fixture
def nova_cloud(tmp_path: Path) -> Iterator[NovaCloud]:
    """Nova's API of the test's own on fresh databases; all of it removed afterwards."""
    standins = StandIns().start()
    api = NovaAPI(tmp_path / "nova", {name: standins.url(name) for name in standins.services})
    try:
        api.create()
        api.start()
        yield NovaCloud(api, standins, api.clouds_yaml(tmp_path / "clouds.yaml", CLOUD))
    except BaseException:
        sys.stderr.write(api.tail())
        raise
    finally:
        api.destroy()
        standins.stop()
