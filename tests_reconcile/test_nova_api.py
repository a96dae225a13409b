"""Nova's real API over planted instances, read as the reconcile reads it.

What these show, through openstacksdk against gunicorn serving Nova's API on
MariaDB: every project's instances come back over several pages, exactly the
planted ones; ``changes-since`` finds exactly those changed since (deleted
ones included, as ``DELETED``); the fault switch makes a listing fail half
way (the reconcile's "a partial listing aborts the pass" tests use it); and
the figures of listing 10,000 instances (printed, for docs/benchmarks.md).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conftest import NovaCloud, utcnow

HERE = Path(__file__).resolve().parent


def listing(cloud: NovaCloud, *args: str) -> dict[str, Any]:
    """``listing.py`` in a process of its own against ``cloud``."""
    env = dict(os.environ, **cloud.env())
    done = subprocess.run([sys.executable, str(HERE / "listing.py"), *args],
                          capture_output=True, text=True, env=env, check=False, timeout=900)
    assert done.stdout.strip(), done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    result["returncode"] = done.returncode
    return result


def iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_all_projects_paged_and_changes_since_find_exactly_the_planted(
        nova_cloud: NovaCloud) -> None:
    earlier = utcnow() - datetime.timedelta(hours=2)
    before = nova_cloud.plant(live=23, projects=["p-old-1", "p-old-2"], updated_at=earlier)
    since = utcnow() - datetime.timedelta(seconds=1)
    recent = nova_cloud.plant(live=17, deleted=9, projects=["p-new-1", "p-new-2", "p-new-3"])

    pages_before = nova_cloud.api.listing_requests()
    everything = listing(nova_cloud, "--limit", "7")
    # Every project's live instances, over 6 pages of up to 7; openstacksdk asks once
    # more after the short last page (an empty one ends its listing).
    assert set(everything["ids"]) == set(before.live) | set(recent.live)
    assert set(everything["ids"].values()) == {"ACTIVE"}
    assert nova_cloud.api.listing_requests() - pages_before == 40 // 7 + 2
    # Nova asked Neutron (the stand-in) for the ports of each page's instances.
    asked = [path for method, path in nova_cloud.standins.requests
             if method == "GET" and path.startswith("/network/v2.0/ports?")]
    assert len(asked) == 6
    assert {part.split("=", 1)[1] for path in asked
            for part in path.split("?", 1)[1].split("&")
            if part.startswith("device_id=")} == set(everything["ids"])

    changed = listing(nova_cloud, "--limit", "1000", "--changes-since", iso(since))
    assert changed["ids"] == {
        **{uuid: "ACTIVE" for uuid in recent.live},
        **{uuid: "DELETED" for uuid in recent.deleted},
    }
    # Plain HTTP sees the same (the client is not what makes the answer).
    plain = listing(nova_cloud, "--via", "http", "--endpoint", nova_cloud.endpoint,
                    "--limit", "5", "--changes-since", iso(since))
    assert plain["ids"] == changed["ids"]
    assert plain["pages"] == 26 // 5 + 1


def test_the_fault_switch_fails_a_listing_half_way(nova_cloud: NovaCloud) -> None:
    planted = nova_cloud.plant(live=30, projects=["p-1", "p-2"])
    nova_cloud.fail_listings(from_request=3)
    failed = listing(nova_cloud, "--limit", "10")
    # Two pages came back, the third failed: openstacksdk raised, after 20.
    assert failed["returncode"] == 1
    assert failed["listed"] == 20
    assert "500" in failed["error"]
    nova_cloud.heal()
    healed = listing(nova_cloud, "--limit", "10")
    assert set(healed["ids"]) == set(planted.live)


def test_listing_10000_instances(nova_cloud: NovaCloud, capsys: Any) -> None:
    started = time.monotonic()
    planted = nova_cloud.plant(live=10000, projects=[f"project-{n}" for n in range(20)])
    planting = time.monotonic() - started
    live = set(planted.live)
    figures: list[str] = [f"planted 10,000 instances in {planting:.1f} s with 2 processes"]
    for via in ("http", "sdk"):
        pages_before = nova_cloud.api.listing_requests()
        result = listing(nova_cloud, "--via", via, "--endpoint", nova_cloud.endpoint,
                         "--limit", "1000")
        assert set(result["ids"]) == live
        pages = nova_cloud.api.listing_requests() - pages_before
        assert pages == 11
        figures.append(
            f"listed 10,000 instances via {via} in {pages} pages of 1,000: "
            f"{result['seconds']} s, peak RSS {result['rss_peak_kib'] / 1024:.0f} MiB "
            f"({(result['rss_peak_kib'] - result['rss_before_kib']) / 1024:.0f} MiB over "
            f"the {result['rss_before_kib'] / 1024:.0f} MiB after imports)")
    with capsys.disabled():
        print("\n" + "\n".join(f"[benchmark] {line}" for line in figures))
