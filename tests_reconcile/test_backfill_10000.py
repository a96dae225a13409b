"""Issue 31's figures: a backfill of 10,000 instances from a real Nova API, timed,
with the reconcile process's peak memory (``RECONCILE_FIGURES=1 nox -s reconcile``;
docs/benchmarks.md). The checks are the backfill's: every instance queued once."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conftest import NovaCloud
from test_reconcile_done_when import Operator

#: The reconcile command in a process that says its peak memory (KiB) on its last line.
MEASURED = """
import resource, runpy, sys
sys.argv = ["nova-hookspec", *sys.argv[1:]]
try:
    runpy.run_module("nova_hookspec", run_name="__main__")
finally:
    print("PEAK_RSS_KIB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def test_backfill_of_10000_instances(nova_cloud: NovaCloud, tmp_path: Path,
                                     capsys: Any) -> None:
    operator = Operator(nova_cloud, tmp_path)
    # --grace 0 below: the instances were planted seconds ago (a real backfill's are older).
    started = time.monotonic()
    planted = nova_cloud.plant(live=10000, projects=[f"project-{n}" for n in range(20)])
    planting = time.monotonic() - started
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, "reconcile", "--os-cloud", nova_cloud.cloud,
         "--plugin", "beta", "--page-size", "1000", "--max-deletes", "0", "--grace", "0",
         "--json"],
        capture_output=True, text=True, env=operator.env, timeout=1800, check=False)
    passed = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout)
    [beta] = report["plugins"]
    assert (beta["missing"], beta["stale"]) == (10000, 0)  # a plugin that knows nothing yet
    assert set(beta["missing_uuids"]) == set(planted.live)
    assert report["queued"] == {"create_instance_post": 10000, "delete_instance_post": 0}
    peak = int(done.stderr.rsplit("PEAK_RSS_KIB", 1)[1].split()[0])
    started = time.monotonic()
    operator.drain()
    drained = time.monotonic() - started
    ran = [line for line in operator.lines() if line[:2] == ["beta", "create"]]
    assert sorted(line[2] for line in ran) == sorted(planted.live)  # each once
    assert {line[3] for line in ran} == {"reconcile"}
    with capsys.disabled():
        print(f"\n[benchmark] planted 10,000 instances in {planting:.1f} s; a backfill pass "
              f"(listing in {report.get('pages', '?')} pages of 1,000 through openstacksdk, "
              f"judging, queueing 10,000 jobs) took {passed:.1f} s, peak RSS "
              f"{peak / 1024:.0f} MiB; the worker ran the 10,000 jobs in {drained:.1f} s "
              f"(children's peak RSS {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MiB)")
