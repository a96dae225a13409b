"""The README's main command: ``nova-hookspec demo``, run as a user runs it."""

from __future__ import annotations

import subprocess
import sys


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
    assert act.index("1 job waits in the journal") < act.index("[worker] demo-ldap: attempt 1")
    assert "directory unreachable" in act
    assert act.index("attempt 1 of job") < act.index("attempt 2: registered db-1")
    assert "the worker caught up: 0 pending, 0 dead" in act


def test_demo_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nova_hookspec", "demo", "--help"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0
    assert "simulated" in done.stdout
