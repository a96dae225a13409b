"""The README's main command: ``nova-hookspec demo``, run as a user runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from sitehelper import Site

INVENTORY = Path(__file__).resolve().parent.parent / "plugins" / "inventory"


def run_demo() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nova_hookspec", "demo"],
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_demo_walks_all_four_hook_points_in_order() -> None:
    done = run_demo()
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for point in ("create_instance", "build_and_run_instance", "instance_network_info",
                  "delete_instance"):
        assert f"   {point}" in out
    # The policy (tryfirst) runs before Nova's code, the tagger wraps it, then the inventory.
    assert out.index("[demo-policy] name 'web-1' is allowed") < out.index(
        "[nova] API.create builds 1") < out.index("[demo-tagger] tagged") < out.index(
        "[demo-inventory] recorded web-1")
    assert "'managed-by': 'nova-hookspec'" in out  # the wrapper's change reached the caller
    assert "log WARNING nova_hookspec: plugin 'demo-dns' failed in hook 'instance_network_info_post'" in out
    assert "refused before Nova ran: FatalHookException" in out
    assert "[nova] API.create builds" in out.split("5. create_instance")[0]
    assert "[nova]" not in out.split("5. create_instance")[1].split("\n6. ")[0]


def test_demo_defers_a_slow_plugin_and_the_worker_retries_its_outage() -> None:
    done = run_demo()
    assert done.returncode == 0, done.stderr
    act = done.stdout.split("\n6. a deferred plugin")[1]
    # The call returned with the job written, before the plugin ever ran.
    assert act.index("1 job waits in the journal") < act.index("[worker] demo-ldap: job ")
    assert "attempt 1: LDAP directory unreachable" in act
    assert act.index("attempt 1: LDAP") < act.index("attempt 2: registered db-1")
    assert "demo-ldap (deferred: writes a job)" in act
    assert "the worker caught up: 0 pending, 0 dead" in act


def test_demo_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nova_hookspec", "demo", "--help"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0
    assert "simulated" in done.stdout


def test_demo_leaves_no_state_of_the_example_plugins_behind(tmp_path: Path) -> None:
    """The example inventory plugin, installed, keeps its SQLite file under
    XDG_STATE_HOME: the demo gives it a folder of its own and removes it (issue 30,
    item 5: the demo left ~/.local/state/nova-hookspec/inventory.sqlite3)."""
    site = Site(tmp_path / "site")
    site.root.mkdir(exist_ok=True)
    site.add_dist("nova-hookspec-inventory",
                  {"nova_hookspec": ["inventory = nova_hookspec_inventory:plugin"]})
    home = tmp_path / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in ("XDG_STATE_HOME", "NOVA_HOOKSPEC_INVENTORY_DB")}
    env.update(HOME=str(home), PYTHONPATH=os.pathsep.join(
        [str(site.root), str(INVENTORY), env.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-m", "nova_hookspec", "demo"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "inventory: recorded 1 instance(s)" in done.stdout  # the plugin did write
    assert "and 1 installed in this environment: nova-hookspec-inventory (typed)" in done.stdout
    assert list(home.rglob("*")) == []


def test_demo_backfills_a_plugin_added_to_a_running_cloud() -> None:
    """Issue 31: the demo's last act is a backfill: a reconcile pass queues the creates a
    new plugin missed and the delete of its stale record, the worker runs them (from a
    reconcile), and a second pass finds nothing to do."""
    done = run_demo()
    assert done.returncode == 0, done.stderr
    act = done.stdout.split("\n7. a backfill")[1]
    assert "-> reconcile: 3 missing in the zone, 1 stale there; 4 jobs queued" in act
    added = [line for line in act.splitlines() if "(reconcile): app-" in line]
    assert sorted(line.split(": ")[-1] for line in added) == [
        f"app-{n}.example.org A added" for n in (1, 2, 3)]
    assert "(reconcile): old-9.example.org removed" in act
    assert act.index("4 jobs queued") < act.index("A added")
    assert "the zone holds 3 records; a second pass finds 0 to do" in act


def test_demo_is_a_story_a_newcomer_can_follow() -> None:
    """Issue 30 item 5: one plugin count, every word of the trade explained before it is
    used (hook point, pre/post, wrapper, typed, legacy, journal, worker, lane), one id per
    job, the deferred plugin's time said to be its job's writing, the directory named."""
    done = run_demo()
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert [line for line in out.splitlines() if line.startswith("plugins:")] == [
        "plugins: 5 examples built into the demo (demo-policy, demo-tagger, demo-inventory, "
        "demo-dns, demo-audit)"]
    assert "plugin(s) registered" not in out
    assert "built-in" not in out
    for term, explained in (("hook points", "the hook points: create"),
                            ("wrapper", "around it (a wrapper, which may change"),
                            ("typed", "Typed plugins are functions marked @hookimpl"),
                            ("legacy", "legacy plugins are the classic\nnova.hooks classes"),
                            ("journal", "the journal (a queue in a file"),
                            ("worker", "a worker (nova-hookspec worker) runs the jobs"),
                            ("lane", "in lanes (a lane runs one job at a time")):
        assert explained in out, term
        assert out.lower().index(term) >= out.index(explained), f"{term!r} used unexplained"
    act = out.split("\n6. a deferred plugin")[1]
    assert "demo-ldap's time above is writing its job" in act
    assert "LDAP directory" in act
    worker_ids = set(re.findall(r"\[worker\] demo-ldap: job (\S+), attempt", act))
    logged_ids = set(re.findall(r"deferred job (\S+) \(demo-ldap,", act))
    assert len(worker_ids) == 1
    assert worker_ids == logged_ids
