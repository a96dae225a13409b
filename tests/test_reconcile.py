"""Reconcile and backfill through real processes: a compute API, the command, the worker.

A small compute API of the test's own serves ``/v2.1/servers/detail`` on
127.0.0.1 (paging with ``limit``/``marker`` and ``servers_links``,
``all_tenants``, ``deleted``, ``changes-since``); ``nova-hookspec
reconcile`` reads it through openstacksdk (a ``clouds.yaml`` cloud) in a
subprocess; ``nova-hookspec worker --drain`` runs the jobs. Two plugins: one
lists what its external system holds (``known_instances``), the other is
judged by the record of what its jobs delivered. Every test ends with a
ledger check: the plugins append one line per run.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid as _uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from reconcilehelper import PLUGINS, Commands
from sitehelper import Site

CALLS = '''
import sys
import nova_hookspec
from nova_hookspec._nova.standins import Instance, RequestContext

@nova_hookspec.add_hook("create_instance")
def create(self, context, flavor, image_href):
    return [Instance(hostname="h-" + image_href[:8], uuid=image_href)], "r-" + image_href[:8]

for uuid in sys.argv[1:]:
    create(None, RequestContext(project_id="p-1"), "m1", uuid)
'''


def _stamp(seconds_ago: float) -> str:
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(
        seconds=seconds_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeNova:
    """Nova's server listing as the compute API pages it, from a list of servers."""

    def __init__(self) -> None:
        self.servers: list[dict[str, Any]] = []
        self.requests: list[dict[str, list[str]]] = []
        #: The live listing's page that answers HTTP 500 (1 is the first).
        self.fail_page: int | None = None
        test = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                if not url.path.rstrip("/").endswith("/servers/detail"):
                    return self._send(200, {"version": {
                        "id": "v2.1", "status": "CURRENT", "version": "2.90",
                        "min_version": "2.1", "links": [{"rel": "self", "href": test.url}]}})
                query = parse_qs(url.query)
                test.requests.append(query)
                live = [q for q in test.requests if "deleted" not in q]
                if "deleted" not in query and test.fail_page == len(live):
                    return self._send(500, {"computeFault": {"message": "boom"}})
                return self._send(200, test.page(query))

            def _send(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v2.1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def add(self, name: str, created_ago: float, deleted_ago: float | None = None,
            project: str = "p-1") -> str:
        uuid = str(_uuid.uuid4())
        self.servers.append({
            "id": uuid, "name": name, "tenant_id": project, "user_id": "u-1",
            "status": "DELETED" if deleted_ago is not None else "ACTIVE",
            "created": _stamp(created_ago),
            "updated": _stamp(deleted_ago if deleted_ago is not None else created_ago),
            "metadata": {"role": name}, "OS-EXT-SRV-ATTR:hostname": name,
            "OS-EXT-SRV-ATTR:reservation_id": f"r-{name}",
            "OS-EXT-STS:vm_state": "deleted" if deleted_ago is not None else "active",
            "OS-SRV-USG:terminated_at": None if deleted_ago is None else _stamp(deleted_ago)})
        return uuid

    def page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        deleted = query.get("deleted") == ["True"]
        chosen = [s for s in self.servers if (s["status"] == "DELETED") == deleted]
        if "changes-since" in query:
            since = query["changes-since"][0]
            chosen = [s for s in chosen if s["updated"] >= since]
        chosen.sort(key=lambda s: s["id"])
        limit = int(query["limit"][0])
        if "marker" in query:
            [at] = [n for n, s in enumerate(chosen) if s["id"] == query["marker"][0]]
            chosen = chosen[at + 1:]
        page = chosen[:limit]
        links = ([{"rel": "next", "href": f"{self.url}/servers/detail?marker={page[-1]['id']}"}]
                 if len(page) == limit else [])
        return {"servers": page, "servers_links": links}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Cloud(Commands):
    """The plugins installed, the journal, the cloud's clouds.yaml, and the commands."""

    reconcile_args = ("--os-cloud", "fake", "--page-size", "2")
    drain_args = ("--lanes", "4")

    def __init__(self, site: Site, root: Path, nova: FakeNova) -> None:
        site.add_dist("acme-reconciled", {"nova_hookspec": ["alpha = acme_rec:ALPHA",
                                                            "beta = acme_rec:BETA"]},
                      {"acme_rec": PLUGINS, "acme_rec_calls": CALLS})
        self.nova = nova
        self.ledger = root / "ledger.txt"
        self.alpha = root / "alpha.json"
        self.journal = root / "state" / "journal.sqlite"
        clouds = root / "clouds.yaml"
        clouds.write_text(f"clouds:\n  fake:\n    auth_type: none\n"
                          f"    compute_endpoint_override: {nova.url}\n")
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site.root), *sys.path]),
                    "LEDGER": str(self.ledger), "ALPHA_DB": str(self.alpha),
                    "NOVA_HOOKSPEC_JOURNAL": str(self.journal),
                    "OS_CLIENT_CONFIG_FILE": str(clouds)}


@pytest.fixture
def nova() -> Iterator[FakeNova]:
    made = FakeNova()
    yield made
    made.close()


@pytest.fixture
def cloud(site: Site, tmp_path: Path, nova: FakeNova) -> Cloud:
    return Cloud(site, tmp_path, nova)


DAY = 86400.0


def _plant(cloud: Cloud) -> dict[str, str]:
    """Nova: four old live instances, one created a minute ago, one deleted two days
    ago, one deleted a minute ago. Alpha and Beta saw L1 and D1 created through hooks
    (the worker ran those jobs); Alpha's system also holds L2, D2 and an X Nova never
    lists; a hooked create of L3 is still in the journal when the pass runs."""
    nova = cloud.nova
    u = {name: nova.add(name, 10 * DAY) for name in ("L1", "L2", "L3", "L4")}
    u["L5"] = nova.add("L5", 60)
    u["D1"] = nova.add("D1", 10 * DAY, deleted_ago=2 * DAY)
    u["D2"] = nova.add("D2", 10 * DAY, deleted_ago=60)
    u["X"] = str(_uuid.uuid4())
    done = cloud.run("acme_rec_calls", u["L1"], u["D1"])
    assert done.returncode == 0, done.stderr
    cloud.drain()
    held = json.loads(cloud.alpha.read_text())
    cloud.alpha.write_text(json.dumps([*held, u["L2"], u["D2"], u["X"]]))
    done = cloud.run("acme_rec_calls", u["L3"])  # its jobs wait in the journal
    assert done.returncode == 0, done.stderr
    return u


def _uuids(report: dict[str, Any], plugin: str, kind: str) -> set[str]:
    [entry] = [p for p in report["plugins"] if p["plugin"].endswith(f":{plugin.upper()}")]
    return set(entry[f"{kind}_uuids"])


def test_a_pass_finds_the_drift_queues_it_the_worker_runs_it_and_a_second_finds_none(
        cloud: Cloud) -> None:
    u = _plant(cloud)
    report = cloud.report()
    assert report["outcome"] == "ok", report
    assert _uuids(report, "alpha", "missing") == {u["L4"]}  # L3 has a job waiting
    assert _uuids(report, "alpha", "stale") == {u["D1"], u["X"]}
    assert _uuids(report, "beta", "missing") == {u["L2"], u["L4"]}
    assert _uuids(report, "beta", "stale") == {u["D1"]}
    by_plugin = {p["plugin"].rsplit(":", 1)[1].lower(): p for p in report["plugins"]}
    assert by_plugin["alpha"]["source"] == "known_instances"
    assert by_plugin["beta"]["source"] == "delivered record"
    assert (by_plugin["alpha"]["recent"], by_plugin["beta"]["recent"]) == (2, 1)  # L5, D2
    assert (by_plugin["alpha"]["waiting"], by_plugin["beta"]["waiting"]) == (1, 1)  # L3
    assert report["queued"] == {"create_instance_post": 3, "delete_instance_post": 3}
    assert report["pages"] == 5  # 5 live in pages of 2, 1; 2 deleted in a full page, then none
    for query in cloud.nova.requests:
        assert query["all_tenants"] == ["1"]
        assert query["limit"] == ["2"]
    assert cloud.pending() == 2 + 6  # L3's hooked jobs, then the pass's
    done = cloud.run("acme_rec_calls", u["L4"])  # a hooked create of L4 after the pass
    assert done.returncode == 0, done.stderr
    cloud.drain()
    lines = cloud.lines()
    for plugin in ("alpha", "beta"):
        runs = [line[3] for line in lines if line[:3] == [plugin, "create", u["L4"]]]
        assert runs == ["reconcile", "hook"]  # one lane: in the order they were written
    assert [line[3] for line in lines if line[:3] == ["alpha", "create", u["L3"]]] == ["hook"]
    rec = [line for line in lines if "reconcile" in line]
    assert sorted(line[1] + " " + line[2] for line in rec if line[0] == "alpha") == sorted(
        ["create " + u["L4"], "delete " + u["D1"], "delete " + u["X"]])
    [l4] = [line for line in rec if line[:3] == ["alpha", "create", u["L4"]]]
    assert l4[4:] == ["nova_hookspec._nova.standins.Instance", "p-1", "L4", "r-L4"]  # as Nova's API returned it
    [d1] = [line for line in rec if line[:3] == ["alpha", "delete", u["D1"]]]
    assert d1[4:] == ["True", "D1"]  # the last state Nova knew
    [x] = [line for line in rec if line[:3] == ["alpha", "delete", u["X"]]]
    assert x[4:] == ["True", "-"]  # purged from Nova: its UUID only
    assert sorted(line[1] + " " + line[2] for line in rec if line[0] == "beta") == sorted(
        ["create " + u["L2"], "create " + u["L4"], "delete " + u["D1"]])
    again = cloud.report()
    assert again["outcome"] == "ok"
    assert [(p["missing"], p["stale"]) for p in again["plugins"]] == [(0, 0), (0, 0)]
    assert again["queued"] == {"create_instance_post": 0, "delete_instance_post": 0}
    assert cloud.pending() == 0


def test_a_listing_that_fails_half_way_queues_nothing(cloud: Cloud) -> None:
    _plant(cloud)
    cloud.drain()
    before = cloud.lines()
    cloud.nova.fail_page = 2
    done = cloud.reconcile()
    assert done.returncode == 2
    assert "page 2: HTTP 500" in done.stderr
    assert "Traceback" not in done.stderr
    assert cloud.pending() == 0
    cloud.env["ALPHA_DOWN"] = "1"  # the plugin's own listing fails half way
    failed = cloud.report()
    assert failed["outcome"] == "failed"
    assert "'known_instances' failed: ConnectionError: inventory unreachable" in failed["error"]
    assert cloud.pending() == 0
    cloud.drain()
    assert cloud.lines() == before  # no job ran


def test_more_deletes_than_the_bound_are_refused_and_force_queues_them(cloud: Cloud) -> None:
    _plant(cloud)
    cloud.drain()
    done = cloud.reconcile("--max-deletes", "2")
    assert done.returncode == 1
    assert "3 delete(s)" in done.stderr
    assert "bound of 2" in done.stderr
    assert "--force" in done.stderr
    assert cloud.pending() == 0
    forced = cloud.report("--max-deletes", "2", "--force")
    assert forced["outcome"] == "ok"
    assert forced["queued"]["delete_instance_post"] == 3
    cloud.drain()
    deletes = [line for line in cloud.lines() if line[1] == "delete" and "reconcile" in line]
    assert len(deletes) == 3


def test_an_empty_listing_with_deletes_is_refused_under_the_bound_and_force_queues_them(
        cloud: Cloud) -> None:
    u = _plant(cloud)
    cloud.drain()
    cloud.nova.servers.clear()  # a wrong cloud or region: Nova lists nothing at all
    done = cloud.reconcile("--max-deletes", "100")
    assert done.returncode == 1, done.stderr
    assert "Nova listed no instance" in done.stderr
    assert "--force" in done.stderr
    assert "Traceback" not in done.stderr
    assert cloud.pending() == 0
    forced = cloud.report("--force")
    assert forced["outcome"] == "ok", forced
    # Everything Alpha holds (L3's hooked create ran with the drain) judged stale.
    assert _uuids(forced, "alpha", "stale") == {u[k] for k in ("L1", "L2", "L3", "D1", "D2", "X")}
    assert forced["queued"]["delete_instance_post"] > 0
    assert cloud.pending() > 0


def test_grace_period_dry_run_and_plugin_choice(cloud: Cloud) -> None:
    u = _plant(cloud)
    cloud.drain()
    dry = cloud.reconcile("--dry-run", "--plugin", "beta", "--grace", "0")
    assert dry.returncode == 0, dry.stderr
    assert f"missing {u['L5']}" in dry.stdout  # no grace: the new instance is judged
    assert "alpha" not in dry.stdout
    graced = cloud.report("--dry-run", "--plugin", "alpha")
    assert graced["outcome"] == "dry-run"
    assert u["L5"] not in _uuids(graced, "alpha", "missing")
    assert u["D2"] not in _uuids(graced, "alpha", "stale")  # deleted a minute ago
    no_grace = cloud.report("--dry-run", "--plugin", "alpha", "--grace", "0")
    assert u["L5"] in _uuids(no_grace, "alpha", "missing")
    assert u["D2"] in _uuids(no_grace, "alpha", "stale")
    assert cloud.pending() == 0  # a dry run queues nothing
    unknown = cloud.reconcile("--plugin", "gamma")
    assert unknown.returncode == 2
    assert "no plugin 'gamma'" in unknown.stderr
    assert cloud.pending() == 0


def test_the_workers_schedule_logs_a_failed_pass_and_the_next_one_queues(
        cloud: Cloud, tmp_path: Path) -> None:
    u = _plant(cloud)
    cloud.drain()
    cloud.nova.fail_page = 1  # the first pass's listing fails
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "nova_hookspec", "worker", "--reconcile-every", "0.2s"],
        stdout=log, stderr=subprocess.STDOUT, env={**cloud.env, "OS_CLOUD": "fake"})
    try:
        deadline = time.monotonic() + 120
        while not any(line[:3] == ["alpha", "create", u["L4"]] for line in cloud.lines()):
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0
        log.close()
    text = (tmp_path / "worker.log").read_text()
    assert "reconcile pass failed: listing Nova's servers failed on page 1: HTTP 500" in text
    assert "Traceback" not in text
    reconciled = [line[:3] for line in cloud.lines() if "reconcile" in line]
    assert reconciled.count(["alpha", "create", u["L4"]]) == 1  # later passes: no drift
    state = json.loads(Path(f"{cloud.journal}.reconcile.json").read_text())
    assert state["passes"]["failed"] == 1
    assert state["passes"]["ok"] >= 1
    metrics = Path(f"{cloud.journal}.reconcile.prom").read_text()
    assert 'nova_hookspec_reconcile_passes_total{outcome="failed"} 1.0' in metrics
    assert 'nova_hookspec_reconcile_drift{kind="missing",plugin="acme-reconciled:acme_rec:ALPHA"}' \
        in metrics


def test_a_plugin_with_known_instances_is_accepted_and_listed_and_a_wrapper_refused(
        site: Site) -> None:
    import nova_hookspec
    from nova_hookspec._cli import listing

    class Lister:
        @nova_hookspec.hookimpl
        def known_instances(self) -> Iterator[str]:
            yield "u-1"

    class Wrapping:
        @nova_hookspec.hookimpl(wrapper=True)
        def known_instances(self) -> Iterator[None]:
            yield

    class Asking:
        @nova_hookspec.hookimpl
        def known_instances(self, instance: object) -> list[str]:
            return []

    pm = nova_hookspec.get_plugin_manager()
    pm.register(Lister(), "lister")
    assert [list(found) for found in pm.hook.known_instances()] == [["u-1"]]
    assert listing.list_document(pm)["known_instances"] == ["lister"]
    assert "        lister" in listing.format_listing(pm).splitlines()
    with pytest.raises(nova_hookspec.PluginValidationError,
                       match=r"'wrapping'.*cannot be a wrapper"):
        pm.register(Wrapping(), "wrapping")
    with pytest.raises(nova_hookspec.PluginValidationError, match="has no argument 'instance'"):
        pm.register(Asking(), "asking")
