"""The alert rules and the Grafana dashboard shipped in deploy/ (issue 28 item 6).

promtool (Debian's ``prometheus`` package; ``.ci/run`` installs it) checks the
rules and runs their unit tests; a real worker, scraped over HTTP, exports
every metric they name. Across hosts: tests_broker/test_metrics.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import test_deferred
from metricshelper import (
    ACROSS_HOSTS_ONLY,
    DASHBOARD,
    NAME,
    RECONCILE_RULES,
    RULES,
    exported,
    free_port,
    samples,
    scrape,
    used_names,
)
from test_deferred import Host

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed "
                                    "(apt-get install prometheus; .ci/run installs it)")

#: test_deferred.py's host fixture: its journal, the ledger plugin, its processes.
host = test_deferred.host



def _promtool_checks(rules: Path, count: int, unit_tests: str) -> None:
    """``promtool check rules`` finds ``count`` rules in ``rules``, and ``promtool test
    rules`` passes ``tests/promtool/<unit_tests>``."""
    assert PROMTOOL is not None
    checked = subprocess.run([PROMTOOL, "check", "rules", str(rules)], capture_output=True,
                             text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {count} rules found" in checked.stdout
    tested = subprocess.run([PROMTOOL, "test", "rules",
                             str(Path(__file__).parent / "promtool" / unit_tests)],
                            capture_output=True, text=True, check=False)
    assert tested.returncode == 0, tested.stdout + tested.stderr


@needs_promtool
def test_promtool_checks_the_alert_rules_and_their_unit_tests() -> None:
    _promtool_checks(RULES, 9, "rules_test.yml")


@needs_promtool
def test_promtool_checks_the_reconcile_alert_rules_and_their_unit_tests() -> None:
    """Issue 31 item 5: "no successful pass in N hours" fires for a host whose passes
    all fail since, and for one that never had one; not for one that passes."""
    _promtool_checks(RECONCILE_RULES, 2, "reconcile_rules_test.yml")


def test_a_reconcile_pass_writes_every_metric_its_alert_rules_use(tmp_path: Path) -> None:
    """A real pass (``nova-hookspec reconcile``, here with no plugin to reconcile: a failed
    pass, Nova not asked) writes the textfile the rules read: every name they use is in
    it, and a host that never had a successful pass reports 0 (the alert fires)."""
    journal = tmp_path / "journal.sqlite"
    done = subprocess.run([sys.executable, "-m", "nova_hookspec", "reconcile"],
                          capture_output=True, text=True, check=False, timeout=120,
                          env={**os.environ, "NOVA_HOOKSPEC_JOURNAL": str(journal)})
    assert done.returncode == 2, done.stderr
    assert "no plugin to reconcile" in done.stderr
    text = Path(f"{journal}.reconcile.prom").read_text()
    used = {name for line in RECONCILE_RULES.read_text().splitlines()
            if line.strip().startswith("expr:") for name in NAME.findall(line)}
    assert used == {"nova_hookspec_reconcile_last_success_timestamp_seconds"}
    assert used <= exported(text), text
    found = samples(text)
    assert found["nova_hookspec_reconcile_last_success_timestamp_seconds"] == 0
    assert found['nova_hookspec_reconcile_passes_total{outcome="ok"}'] == 0.0
    assert found['nova_hookspec_reconcile_passes_total{outcome="failed"}'] == 1.0


def test_the_dashboard_is_an_importable_grafana_dashboard() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "nova-hookspec-deferred"
    assert [v["type"] for v in dashboard["templating"]["list"]] == ["datasource"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)) == 10
    assert all(t["datasource"]["uid"] == "${datasource}"
               for panel in dashboard["panels"] for t in panel["targets"])


def test_a_one_host_worker_exports_every_metric_the_rules_and_dashboard_use(host: Host) -> None:
    (host.gates / "down").touch()
    host.calls(1)
    port = free_port()
    worker = host.start("-m", "nova_hookspec", "worker", "--metrics-port", str(port),
                        env={"NOVA_HOOKSPEC_MAX_ATTEMPTS": "2"})
    host.wait_for(lambda: samples(scrape(port)).get(
        'nova_hookspec_deferred_queue_depth{state="dead"}') == 1.0, "the job dead")
    (host.gates / "down").unlink()
    host.calls(1)
    labels = 'hook="create_instance_post",outcome="{}",plugin="acme-ledger:acme_ledger:LEDGER"'
    done = "nova_hookspec_deferred_runs_total{" + labels.format("done") + "}"
    host.wait_for(lambda: samples(scrape(port)).get(done) == 1.0, "the second job done")
    text = scrape(port)
    found = samples(text)
    # The outcomes of the three runs: one retried, then dead; one done.
    for outcome, count in (("retry", 1.0), ("dead", 1.0), ("done", 1.0)):
        assert found["nova_hookspec_deferred_runs_total{" + labels.format(outcome) + "}"] \
            == count, text
    assert found['nova_hookspec_deferred_up{role="worker"}'] == 1.0
    assert found['nova_hookspec_deferred_last_loop_timestamp_seconds{role="worker"}'] > 0
    missing = used_names() - ACROSS_HOSTS_ONLY - exported(text)
    assert not missing, f"used by deploy/ but not exported: {sorted(missing)}\n{text}"
    assert not exported(text) & ACROSS_HOSTS_ONLY  # no outbox on one host
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    assert [line[0] for line in host.lines()] == ["start", "down", "start", "down",
                                                   "start", "done"]
