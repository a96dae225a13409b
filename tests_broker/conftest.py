"""The broker tests: RabbitMQ on 127.0.0.1:5672 (guest/guest), a virtual host per test.

Run by ``nox -s broker`` under a series' upper-constraints (oslo.messaging
and kombu as Nova has them); ``.ci/run`` starts RabbitMQ if it is stopped.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from sitehelper import Site

if TYPE_CHECKING:
    from cloud import Cloud


def rabbitmqctl(*args: str) -> str:
    done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, f"rabbitmqctl {' '.join(args)}: {done.stderr}"
    return done.stdout


class Account:
    """A virtual host and a user of the test's own (the password is what no log,
    journal or CLI output may show)."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.vhost = f"nova-hookspec-test-{tag}"
        self.user = f"nova-hookspec-{tag}"
        self.password = f"pw-{uuid.uuid4().hex}"

    @property
    def url(self) -> str:
        return f"rabbit://{self.user}:{self.password}@127.0.0.1:5672/{self.vhost}"


@pytest.fixture
def account() -> Iterator[Account]:
    """Made on the machine's RabbitMQ, deleted afterwards (with every queue in it)."""
    made = Account()
    rabbitmqctl("add_vhost", made.vhost)
    rabbitmqctl("add_user", made.user, made.password)
    rabbitmqctl("set_permissions", "-p", made.vhost, made.user, ".*", ".*", ".*")
    yield made
    subprocess.run(["rabbitmqctl", "start_app"], capture_output=True, timeout=120, check=False)
    rabbitmqctl("delete_vhost", made.vhost)
    rabbitmqctl("delete_user", made.user)


@pytest.fixture
def site(tmp_path: Path) -> Site:
    root = tmp_path / "site"
    root.mkdir()
    return Site(root)


@pytest.fixture
def cloud(site: Site, tmp_path: Path, account: Account) -> Iterator[Cloud]:
    """Hosts with their own journals and relays, workers, one virtual host of the broker
    (:mod:`cloud`)."""
    from cloud import Cloud

    made = Cloud(site, tmp_path, account.url)
    yield made
    made.close()
