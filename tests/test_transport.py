"""Which broker carries deferred jobs between hosts, read as a service reads it,
and what of its URL may be shown (``nova_hookspec.deferred.transport``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nova_hookspec.deferred import settings, transport

SECRET = "pa55-" + "w0rd"


def test_without_a_transport_the_journal_is_all_there_is(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    monkeypatch.setenv("NOVA_HOOKSPEC_JOURNAL", str(tmp_path / "j.sqlite"))
    assert transport.broker(settings.current()) is None


def test_the_url_is_parsed_with_its_hosts_and_shown_without_credentials(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NOVA_HOOKSPEC_JOURNAL", str(tmp_path / "j.sqlite"))
    monkeypatch.setenv("NOVA_HOOKSPEC_TRANSPORT_URL",
                       f"rabbit://nova:{SECRET}@mq1:5672,nova:{SECRET}@mq2:5673/cloud")
    found = settings.current()
    where = transport.broker(found)
    assert where is not None
    assert where.urls == (f"amqp://nova:{SECRET}@mq1:5672/cloud",
                          f"amqp://nova:{SECRET}@mq2:5673/cloud")
    assert where.shown == "rabbit://mq1:5672,mq2:5673/cloud"
    assert SECRET not in repr(where)
    assert SECRET not in repr(found)


def test_a_transport_other_than_rabbit_is_refused_by_name(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    monkeypatch.setenv("NOVA_HOOKSPEC_JOURNAL", str(tmp_path / "j.sqlite"))
    monkeypatch.setenv("NOVA_HOOKSPEC_TRANSPORT_URL", f"kafka://u:{SECRET}@k1:9092/")
    with pytest.raises(ValueError, match="RabbitMQ only") as caught:
        transport.broker(settings.current())
    assert SECRET not in str(caught.value)


def _cli(tmp_path: Path, conf: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "nova.conf"
    path.write_text(conf)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "NOVA_HOOKSPEC_JOURNAL": str(tmp_path / "j.sqlite")}
    return subprocess.run([sys.executable, "-m", "nova_hookspec", *args[:1], "--config-file",
                           str(path), *args[1:]], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def test_broker_true_uses_novas_own_transport_url_and_says_when_there_is_none(
        tmp_path: Path) -> None:
    missing = _cli(tmp_path, "[nova_hookspec]\nbroker = true\n", "worker", "--drain")
    assert missing.returncode != 0
    assert "no [DEFAULT] transport_url" in missing.stderr
    # Nova's own URL, on a port nothing listens on: the CLI says the broker is
    # unreachable, naming it without its password.
    down = _cli(tmp_path, f"[DEFAULT]\ntransport_url = rabbit://nova:{SECRET}@127.0.0.1:9/\n"
                "[nova_hookspec]\nbroker = true\n", "deferred", "list", "--dead")
    assert down.returncode == 2, down.stderr
    assert "broker rabbit://127.0.0.1:9/: connection refused at 127.0.0.1:9" in down.stderr
    assert SECRET not in down.stdout + down.stderr


def test_relay_only_without_a_broker_is_refused(tmp_path: Path) -> None:
    done = _cli(tmp_path, "[nova_hookspec]\n", "worker", "--relay-only")
    assert done.returncode != 0
    assert "--relay-only and --no-relay need a broker" in done.stderr


def test_status_with_the_broker_down_shows_the_outbox_and_says_so(tmp_path: Path) -> None:
    """Issue 29: ``deferred status`` with the broker unreachable prints this host's
    outbox and says the broker is down (exit status 1), in text and in JSON."""
    import json

    env = {**os.environ, "NOVA_HOOKSPEC_JOURNAL": str(tmp_path / "journal.sqlite"),
           "NOVA_HOOKSPEC_TRANSPORT_URL": f"rabbit://nova:{SECRET}@127.0.0.1:9/"}
    written = subprocess.run(
        [sys.executable, "-c", "from nova_hookspec.deferred import enqueue\n"
         "for n in range(3):\n"
         "    enqueue.write('acme', 'create_instance_post', [f'i-{n}'], '{}', {})"],
        env=env, capture_output=True, text=True, timeout=60, check=False)
    assert written.returncode == 0, written.stderr
    human = subprocess.run([sys.executable, "-m", "nova_hookspec", "deferred", "status"],
                           env=env, capture_output=True, text=True, timeout=60, check=False)
    assert human.returncode == 1, human.stderr
    assert "3 pending" in human.stdout
    assert ("broker rabbit://127.0.0.1:9/: connection refused at 127.0.0.1:9 (is RabbitMQ "
            "running there?): the broker is down; 3 job(s) of this host wait in its outbox"
            ) in human.stdout
    machine = subprocess.run([sys.executable, "-m", "nova_hookspec", "deferred", "status",
                              "--json"], env=env, capture_output=True, text=True, timeout=60,
                             check=False)
    assert machine.returncode == 1
    document = json.loads(machine.stdout)
    assert (document["outbox"], "broker" in document) == (3, False)
    assert "connection refused at 127.0.0.1:9" in document["broker_down"]
    assert SECRET not in human.stdout + human.stderr + machine.stdout + machine.stderr
