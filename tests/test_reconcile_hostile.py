"""``nova-hookspec reconcile`` given what a hurried or hostile operator gives it.

Each case runs the real command in a subprocess (the fake compute API and the
two plugins of ``tests/test_reconcile.py``) and checks what the operator sees:
one line naming the option, the journal or the plugin, a non-zero exit, no
traceback; and what did not happen: no job queued, none run (the ledger).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import test_reconcile
from test_reconcile import Cloud, FakeNova, _plant

#: test_reconcile.py's fixtures: the fake compute API, the plugins and the commands.
nova = test_reconcile.nova
cloud = test_reconcile.cloud

DAY = 86400.0


def _one_line_refusal(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


@pytest.mark.parametrize(("option", "value", "said"), [
    ("--max-deletes", "-1", "0 or more"),
    ("--page-size", "0", "1 or more"),
    ("--page-size", "-5", "1 or more"),
])
def test_a_bound_or_page_size_out_of_range_is_refused_before_any_pass(
        cloud: Cloud, option: str, value: str, said: str) -> None:
    _plant(cloud)
    cloud.drain()
    before = cloud.lines()
    requests = len(cloud.nova.requests)
    done = cloud.reconcile(option, value)
    assert done.returncode == 2
    _one_line_refusal(done, f"argument {option}", said)
    assert len(cloud.nova.requests) == requests  # Nova was not asked
    assert cloud.pending() == 0
    assert not Path(f"{cloud.journal}.reconcile.json").exists()  # no pass counted
    cloud.drain()
    assert cloud.lines() == before


def test_a_schedule_of_no_interval_is_refused(cloud: Cloud) -> None:
    done = cloud.run("nova_hookspec", "worker", "--reconcile-every", "0")
    assert done.returncode == 2
    _one_line_refusal(done, "argument --reconcile-every", "more than 0")


def test_a_plugin_name_with_a_typo_is_refused_with_the_likely_name(cloud: Cloud) -> None:
    done = cloud.reconcile("--plugin", "alpah")
    assert done.returncode == 2
    _one_line_refusal(done, "no plugin 'alpah'", "did you mean 'alpha'")
    assert cloud.pending() == 0


def test_an_unusable_journal_is_one_line_naming_it(cloud: Cloud, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    cloud.env["NOVA_HOOKSPEC_JOURNAL"] = str(blocker / "journal.sqlite")
    for args in ((), ("--dry-run",)):
        done = cloud.reconcile(*args)
        assert done.returncode == 2
        _one_line_refusal(done, f"the journal {blocker / 'journal.sqlite'} cannot be used")
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert cloud.nova.requests == []  # refused before Nova was asked


@pytest.mark.parametrize("entry", ["web-1.example.org", "", "NONE",
                                   "6F9619FF-8B86-D011-B42D-00C04FC964FF"])
def test_a_listing_hook_that_yields_no_instance_uuid_aborts_the_pass(
        cloud: Cloud, entry: str) -> None:
    """A plugin listing hostnames, or UUIDs in another spelling, would see every Nova
    instance missing and every entry stale: the pass must stop, not queue that."""
    u = _plant(cloud)
    cloud.drain()
    before = cloud.lines()
    held = json.loads(cloud.alpha.read_text())
    cloud.alpha.write_text(json.dumps([*held, entry]))
    done = cloud.reconcile()
    assert done.returncode == 2
    _one_line_refusal(done, "plugin 'acme-reconciled:acme_rec:ALPHA'", "'known_instances'",
                      f"yielded {entry!r}", "no instance UUID")
    assert cloud.pending() == 0
    cloud.drain()
    assert cloud.lines() == before  # nothing ran, for Alpha nor for Beta
    assert u["L4"] not in {line[2] for line in cloud.lines()}


class _JunkNova(FakeNova):
    """A compute API (or a proxy in front of it) whose page holds a junk entry."""

    junk: Any = None

    def page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        found = super().page(query)
        if "deleted" not in query and "marker" not in query:
            found["servers"] = [*found["servers"], self.junk]
        return found


@pytest.mark.parametrize("junk", ["a-string", {"name": "no id"}, {"id": None}, 7])
def test_a_page_with_an_entry_that_is_no_server_aborts_the_pass(
        site: Any, tmp_path: Path, junk: Any) -> None:
    junk_nova = _JunkNova()
    junk_nova.junk = junk
    try:
        operator = Cloud(site, tmp_path, junk_nova)
        operator.reconcile_args = ("--os-cloud", "fake", "--page-size", "50")
        for n in range(3):
            junk_nova.add(f"L{n}", 10 * DAY)
        done = operator.reconcile()
        assert done.returncode == 2
        _one_line_refusal(done, "listing Nova's servers failed on page 1",
                          "is no server")
        assert operator.pending() == 0
        assert operator.lines() == []
    finally:
        junk_nova.close()


def test_a_metrics_file_that_cannot_be_written_is_named_and_the_pass_stands(
        cloud: Cloud, tmp_path: Path) -> None:
    _plant(cloud)
    cloud.drain()
    target = tmp_path / "no-such-folder" / "reconcile.prom"
    done = cloud.reconcile("--metrics-file", str(target))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert f"cannot write the metrics file {target}" in done.stderr
    assert ".tmp" not in done.stderr  # the file the operator named, not a temporary one
    state = json.loads(Path(f"{cloud.journal}.reconcile.json").read_text())
    assert state["passes"] == {"ok": 1}
    assert cloud.pending() > 0  # the pass's jobs are queued all the same


@pytest.mark.parametrize(("option", "value"), [("--lookback", "99999999999d"),
                                               ("--grace", "9" * 400)])
def test_a_duration_past_any_calendar_is_refused_before_any_pass(
        cloud: Cloud, option: str, value: str) -> None:
    """A lookback of millions of years was a traceback from the date of changes-since."""
    _plant(cloud)
    cloud.drain()
    done = cloud.reconcile(option, value)
    assert done.returncode == 2
    _one_line_refusal(done, f"argument {option}", "longer than 36500 days")
    assert cloud.pending() == 0


def test_a_schedule_past_any_calendar_is_refused(cloud: Cloud) -> None:
    """An interval too long for a timer was a traceback in the schedule's thread."""
    done = cloud.run("nova_hookspec", "worker", "--reconcile-every", "99999999999d")
    assert done.returncode == 2
    _one_line_refusal(done, "argument --reconcile-every", "longer than 36500 days")


class _SlowNova(FakeNova):
    """A compute API that takes its time over every page after the first request."""

    def page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        self.asked.set()
        self.release.wait(120)
        return super().page(query)


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_the_listing_is_one_line_and_queues_nothing(
        site: Any, tmp_path: Path) -> None:
    slow = _SlowNova()
    slow.asked, slow.release = threading.Event(), threading.Event()
    try:
        operator = Cloud(site, tmp_path, slow)
        for n in range(3):
            slow.add(f"L{n}", 10 * DAY)
        command = [sys.executable, "-m", "nova_hookspec", "reconcile",
                   *operator.reconcile_args]
        # Ctrl-C as at a terminal: a suite started in the background inherits SIGINT
        # ignored, so the command gets Python's own handling back (nothing else is done
        # in the child between fork and exec).
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=operator.env,
                                   preexec_fn=_sigint_default)  # noqa: PLW1509
        assert slow.asked.wait(120), "the pass never asked Nova"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
        slow.release.set()
        assert process.returncode == 130, err
        assert "Traceback" not in err, err
        assert err.strip() == "reconcile: interrupted; nothing was queued", err
        assert operator.pending() == 0
        operator.drain()
        assert operator.lines() == []
    finally:
        slow.release.set()
        slow.close()


def _twist_first_page(cloud: Cloud, listing: str, twist: Any) -> None:
    """Let ``twist`` change the answer to the first page of ``listing`` (``live``, or
    ``deleted``: the changes-since listing a pass reads for its stale entries)."""
    plain = cloud.nova.page

    def page(query: dict[str, list[str]]) -> dict[str, Any]:
        found = plain(query)
        if ("deleted" in query) == (listing == "deleted") and "marker" not in query:
            twist(found)
        return found

    cloud.nova.page = page  # type: ignore[method-assign]


def _aborted_as_a_failed_listing(cloud: Cloud, before: list[Any], listing: str,
                                 *words: str) -> None:
    done = cloud.reconcile()
    assert done.returncode == 2, (done.stdout, done.stderr)
    which = "deleted servers" if listing == "deleted" else "servers"
    _one_line_refusal(done, f"listing Nova's {which} failed on page 1", *words)
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert cloud.pending() == 0
    cloud.drain()
    assert cloud.lines() == before  # nothing ran, for Alpha nor for Beta


@pytest.mark.parametrize("listing", ["live", "deleted"])
@pytest.mark.parametrize("links", ["next", ["next"], {"rel": "next"}, [{"rel": "next"}]])
def test_page_links_that_are_no_list_of_links_abort_the_pass(
        cloud: Cloud, listing: str, links: Any) -> None:
    """A proxy's or a broken API's ``servers_links`` was an AttributeError traceback (exit
    1, "refused"), or a link without its address was followed all the same."""
    _plant(cloud)
    cloud.drain()
    before = cloud.lines()
    _twist_first_page(cloud, listing, lambda found: found.update(servers_links=links))
    _aborted_as_a_failed_listing(cloud, before, listing, "'servers_links'",
                                 "no list of links")


@pytest.mark.parametrize("listing", ["live", "deleted"])
@pytest.mark.parametrize("spelling", ["capitals", "capitals-no-hyphens", "no-hyphens",
                                      "../../etc", "x" * 5000])
def test_a_server_id_that_is_no_instance_uuid_aborts_the_pass(
        cloud: Cloud, listing: str, spelling: str) -> None:
    """Nova's ids spelt otherwise would match no entry of a plugin's, so every instance
    would look missing and every entry stale (deletes of live instances queued); an id
    that is no UUID at all would reach the plugins as ``instance.uuid``."""
    _plant(cloud)
    cloud.drain()
    before = cloud.lines()
    shown: list[str] = []

    def respell(found: dict[str, Any]) -> None:
        server = found["servers"][0]
        real = server["id"]
        server["id"] = {"capitals": real.upper(),
                        "capitals-no-hyphens": real.replace("-", "").upper(),
                        "no-hyphens": real.replace("-", "")}.get(spelling, spelling)
        shown.append(server["id"])

    _twist_first_page(cloud, listing, respell)
    done = cloud.reconcile("--dry-run")  # the dry run reads Nova the same way
    assert done.returncode == 2, done.stderr
    entry = shown[-1] if len(shown[-1]) < 60 else shown[-1][:30]
    _aborted_as_a_failed_listing(cloud, before, listing, f"server id '{entry}",
                                 "is no instance UUID as Nova writes them")
    assert len(shown) == 2
