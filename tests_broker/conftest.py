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

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from sitehelper import Site


def rabbitmqctl(*args: str) -> str:
    done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, f"rabbitmqctl {' '.join(args)}: {done.stderr}"
    return done.stdout


@pytest.fixture
def vhost() -> Iterator[str]:
    """A virtual host of the test's own, deleted afterwards (with every queue in it)."""
    name = f"nova-hookspec-test-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    yield name
    subprocess.run(["rabbitmqctl", "start_app"], capture_output=True, timeout=120, check=False)
    rabbitmqctl("delete_vhost", name)


@pytest.fixture
def site(tmp_path: Path) -> Site:
    root = tmp_path / "site"
    root.mkdir()
    return Site(root)
