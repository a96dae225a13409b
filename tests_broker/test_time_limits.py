"""A hung plugin across hosts: its run fails at its time limit, its lane runner
moves on, and the late return of the hung call records nothing (no ack, no
receipt, no second dead letter); more hung runs than the bound end the worker
with status 1 and lose no job. Each test ends with a ledger check.
"""

from __future__ import annotations

import collections
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cloud import Cloud
from conftest import Account
from sitehelper import Site

HANG = '''
import os, socket
import nova_hookspec

def _line(*words):
    with open(os.environ["HANG_LEDGER"], "a") as f:
        f.write(" ".join(map(str, words)) + "\\n")

class Hang:
    @nova_hookspec.hookimpl(deferred=True)
    def create_instance_post(self, result, delivery):
        name = result[0][0].hostname
        _line("start", name, delivery.attempt)
        if name.startswith("hang"):
            conn = socket.create_connection(("127.0.0.1", int(os.environ["HANG_PORT"])))
            conn.recv(10)  # no timeout: waits until the test's server answers
            _line("late-return", name, delivery.attempt)
            return
        _line("done", name, delivery.attempt)

HANG = Hang()
'''


@pytest.fixture
def cloud(site: Site, tmp_path: Path, account: Account) -> Iterator[Cloud]:
    site.add_dist("acme-hang", {"nova_hookspec": ["hang = acme_hang:HANG"]},
                  {"acme_hang": HANG})
    made = Cloud(site, tmp_path, account.url, broker_lanes="1", max_attempts="2")
    made.env["HANG_LEDGER"] = str(tmp_path / "hang-ledger.txt")
    yield made
    made.close()


def _hang_server(cloud: Cloud, tmp_path: Path, backlog: int) -> tuple[socket.socket, Path]:
    """A listening socket the hanging plugin connects to and reads from (its port in
    the cloud's environment), and the plugin's own ledger."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(backlog)
    cloud.env["HANG_PORT"] = str(server.getsockname()[1])
    return server, tmp_path / "hang-ledger.txt"


def test_a_hung_plugin_fails_at_its_time_limit_and_the_late_return_records_nothing(
        cloud: Cloud, tmp_path: Path) -> None:
    server, hang_ledger = _hang_server(cloud, tmp_path, backlog=16)

    def ran() -> list[str]:
        return hang_ledger.read_text().splitlines() if hang_ledger.exists() else []

    try:
        conf = cloud.conf("worker")  # the operator's limit for this plugin: 1 s
        conf.write_text(conf.read_text() + "\n[nova_hookspec:acme-hang]\ntime_limit = 1\n")
        cloud.relay("api-1")
        cloud.worker(lanes=1)
        cloud.create("api-1", 1, prefix="hang")
        cloud.create("api-1", 1, prefix="after")
        cloud.wait_for(lambda: "done after-0 1" in ran(), "the lane's next job ran")
        listed: list[dict[str, Any]] = []

        def dead() -> bool:
            listed[:] = json.loads(cloud.cli("worker", "deferred", "list", "--dead", "--json")
                                   .stdout)["jobs"]
            return len(listed) == 1

        cloud.wait_for(dead, "the hung job in the dead letters")
        for _ in range(2):  # the two hung calls return now
            conn, _addr = server.accept()
            conn.sendall(b"late")
            conn.close()
        log = cloud.root / "processes.log"
        cloud.wait_for(lambda: log.read_text().count("returned after its time limit") == 2,
                       "the worker saw the late returns")
    finally:
        server.close()
    assert sorted(ran()) == sorted(["start hang-0 1", "start hang-0 2", "start after-0 1",
                                    "done after-0 1", "late-return hang-0 1",
                                    "late-return hang-0 2"])
    [job] = listed
    assert job["plugin"].endswith("acme_hang:HANG")
    assert [h["attempt"] for h in job["history"]] == [1, 2]
    assert all("time limit of 1 s" in h["error"] for h in job["history"])
    status = json.loads(cloud.cli("worker", "deferred", "status", "--json").stdout)
    assert status["broker"]["dead"] == 1  # the late returns added nothing
    assert status["broker"]["queued"] == 0
    cloud.all_done()
    cloud.check_ledger()  # the other plugin's jobs: each once


def test_more_hung_runs_than_the_bound_end_the_worker_with_status_1(
        cloud: Cloud, tmp_path: Path) -> None:
    server, hang_ledger = _hang_server(cloud, tmp_path, backlog=64)
    try:
        conf = cloud.conf("worker")
        conf.write_text(conf.read_text() + "\n[nova_hookspec:acme-hang]\ntime_limit = 0.2\n")
        cloud.relay("api-1")
        cloud.create("api-1", 6, prefix="hang")  # six jobs, two runs each: twelve hung runs
        worker = cloud.worker(lanes=1)
        assert worker.wait(timeout=120) == 1
        log = (cloud.root / "processes.log").read_text()
        assert "11 runs are hung past their time limit (more than 10); exiting with status 1" \
            in log
    finally:
        server.close()
    started = [line.split() for line in hang_ledger.read_text().splitlines()
               if line.startswith("start")]
    assert len(started) == 11  # the eleventh ended the process
    # One runner runs one job at a time: every run before the eleventh was recorded (a
    # second run: dead); the eleventh's job went back to its lane unacked.
    runs = collections.Counter(name for _start, name, _attempt in started)
    dead = sum(1 for count in runs.values() if count == 2) - (started[-1][2] == "2")
    status = json.loads(cloud.cli("worker", "deferred", "status", "--json").stdout)
    assert status["broker"]["dead"] == dead
    assert status["broker"]["queued"] == 6 - dead
