"""Issue 31's "Done when": ``nova-hookspec reconcile`` against Nova's real API.

Nova's API (gunicorn, MariaDB, schemas by ``nova-manage``; ``conftest``)
holds planted instances of several projects; two plugins are installed as a
real distribution: Alpha lists what its external system holds
(``known_instances``), Beta cannot and is judged by the record of what its
jobs delivered. Hooked creates of L1 and D1 ran (the worker delivered them)
before D1 was deleted in Nova; Alpha's system also holds X, which Nova never
had. A pass through openstacksdk must find exactly that drift, queue it, the
worker must run it with the instance as Nova's API returns it (and, for a
stale entry, the last state Nova knew), and a second pass must find none. The
same with the API failing half way through the listing: nothing queued, no
job run. Every test ends with the plugins' ledger.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import sys
import uuid as _uuid
from pathlib import Path
from typing import Any

from conftest import NovaCloud, utcnow


def _shared() -> Any:
    """The plugins' source and the operator's commands, shared with
    ``tests/test_reconcile.py`` (``tests/reconcilehelper.py``), loaded by its
    location: nothing is put on ``sys.path`` that could shadow this suite's own
    modules."""
    path = Path(__file__).resolve().parent.parent / "tests" / "reconcilehelper.py"
    spec = importlib.util.spec_from_file_location("reconcilehelper", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["reconcilehelper"] = module
    spec.loader.exec_module(module)
    return module


_SHARED = _shared()
#: Alpha and Beta (``tests/reconcilehelper.py`` says what they write to the ledger).
PLUGINS: str = _SHARED.PLUGINS

#: Hooked creates, as Nova's compute API calls them (the deferred jobs are written).
CALLS = '''
import sys
import nova_hookspec
from nova_hookspec._nova.standins import Instance, RequestContext

@nova_hookspec.add_hook("create_instance")
def create(self, context, flavor, image_href):
    uuid, project, hostname = image_href.split(",")
    return [Instance(hostname=hostname, uuid=uuid)], "r-1"

for arg in sys.argv[1:]:
    create(None, RequestContext(project_id=arg.split(",")[1]), "m1", arg)
'''


class Site:
    """Alpha and Beta installed as a real distribution (a ``.dist-info`` with the
    ``nova_hookspec`` entry points) on a folder put on ``PYTHONPATH``."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True)
        (root / "acme_rec.py").write_text(PLUGINS)
        (root / "acme_rec_calls.py").write_text(CALLS)
        info = root / "acme_reconciled-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-reconciled\n"
                                       "Version: 1.0\n")
        (info / "entry_points.txt").write_text(
            "[nova_hookspec]\nalpha = acme_rec:ALPHA\nbeta = acme_rec:BETA\n")
        self.root = root


class Operator(_SHARED.Commands):  # type: ignore[misc]
    """The plugins, the journal, and the commands an operator runs, on ``cloud``."""

    def __init__(self, cloud: NovaCloud, root: Path) -> None:
        self.cloud = cloud
        self.site = Site(root / "site")
        self.ledger = root / "ledger.txt"
        self.alpha = root / "alpha.json"
        self.env = {**os.environ, **cloud.env(),
                    "PYTHONPATH": os.pathsep.join([str(self.site.root), *sys.path]),
                    "LEDGER": str(self.ledger), "ALPHA_DB": str(self.alpha),
                    "NOVA_HOOKSPEC_JOURNAL": str(root / "state" / "journal.sqlite")}
        self.timeout = 900.0
        # --grace 0: the planted deletes are seconds old.
        self.reconcile_args = ("--os-cloud", cloud.cloud, "--page-size", "3", "--grace", "0")


def _plant(cloud: NovaCloud, operator: Operator) -> dict[str, str]:
    """Nova: L1-L4 live in three projects (updated two hours ago); D1 and D2 deleted
    now. Hooked creates of L1 and D1 were delivered to both plugins; Alpha's system
    also holds X, which Nova never had."""
    earlier = utcnow() - datetime.timedelta(hours=2)
    live = cloud.plant(live=4, projects=["p-1", "p-2", "p-3"], updated_at=earlier)
    gone = cloud.plant(deleted=2, projects=["p-2"], updated_at=earlier)
    u = dict(zip(["L1", "L2", "L3", "L4"], sorted(live.live)))
    u.update(zip(["D1", "D2"], sorted(gone.deleted)))
    u["X"] = str(_uuid.uuid4())
    projects = {**live.live, **gone.deleted}
    done = operator.run("acme_rec_calls", *(f"{u[n]},{projects[u[n]]},hooked-{n}"
                                            for n in ("L1", "D1")))
    assert done.returncode == 0, done.stderr
    operator.drain()
    held = json.loads(operator.alpha.read_text())
    operator.alpha.write_text(json.dumps([*held, u["X"]]))
    return u


def _uuids(report: dict[str, Any], plugin: str, kind: str) -> set[str]:
    [entry] = [p for p in report["plugins"] if p["plugin"].endswith(f":{plugin.upper()}")]
    return set(entry[f"{kind}_uuids"])


def test_reconcile_against_nova_finds_the_drift_the_worker_runs_it_a_second_pass_none(
        nova_cloud: NovaCloud, tmp_path: Path) -> None:
    operator = Operator(nova_cloud, tmp_path / "operator")
    u = _plant(nova_cloud, operator)
    report = operator.report()
    assert report["outcome"] == "ok", report
    assert _uuids(report, "alpha", "missing") == {u["L2"], u["L3"], u["L4"]}
    assert _uuids(report, "alpha", "stale") == {u["D1"], u["X"]}
    assert _uuids(report, "beta", "missing") == {u["L2"], u["L3"], u["L4"]}
    assert _uuids(report, "beta", "stale") == {u["D1"]}
    assert report["queued"] == {"create_instance_post": 6, "delete_instance_post": 3}
    assert operator.pending() == 9
    operator.drain()
    rec = [line for line in operator.lines() if "reconcile" in line]
    assert sorted(" ".join(line[:3]) for line in rec) == sorted(
        [f"alpha create {u[n]}" for n in ("L2", "L3", "L4")]
        + [f"beta create {u[n]}" for n in ("L2", "L3", "L4")]
        + [f"alpha delete {u['D1']}", f"alpha delete {u['X']}", f"beta delete {u['D1']}"])
    # The instance as Nova's API returned it: a real nova.objects.Instance (Nova is
    # importable here), its project and hostname as planted in Nova's database.
    for line in rec:
        if line[:2] == ["alpha", "create"]:
            assert line[4] == "nova.objects.instance.Instance"
            assert line[5] in ("p-1", "p-2", "p-3")
            assert line[6].startswith("planted-")
    [d1] = [line for line in rec if line[:3] == ["alpha", "delete", u["D1"]]]
    assert d1[4] == "True"
    assert d1[5].startswith("planted-")  # the last state Nova knew
    [x] = [line for line in rec if line[:3] == ["alpha", "delete", u["X"]]]
    assert x[4:] == ["True", "-"]  # never in Nova: its UUID only
    again = operator.report()
    assert again["outcome"] == "ok"
    assert [(p["missing"], p["stale"]) for p in again["plugins"]] == [(0, 0), (0, 0)]
    assert operator.pending() == 0


def test_reconcile_against_nova_failing_half_way_queues_nothing(
        nova_cloud: NovaCloud, tmp_path: Path) -> None:
    operator = Operator(nova_cloud, tmp_path / "operator")
    _plant(nova_cloud, operator)
    before = operator.lines()
    nova_cloud.fail_listings(from_request=2)  # page 1 of 2 (pages of 3) comes back
    done = operator.reconcile()
    assert done.returncode == 2
    assert "page 2: HTTP 500" in done.stderr
    assert "Traceback" not in done.stderr
    assert operator.pending() == 0
    operator.drain()
    assert operator.lines() == before  # no job ran
    nova_cloud.heal()
    healed = operator.report()
    assert healed["outcome"] == "ok"
    assert healed["queued"] == {"create_instance_post": 6, "delete_instance_post": 3}
