"""Deliberate breaks issue 30 (item 10) names that no test noticed, each now
killed by a test through real processes or real distributions:

* a job given back on SIGTERM (``Journal.release``) that keeps the attempt
  its interrupted run used: the plugin's next run would see one attempt too
  many (docs/deferred.md: the attempt counts the runs);
* an implementation marked both ``tryfirst`` and ``trylast`` counted as
  ``tryfirst``: it counts as ``trylast``, as in pluggy (docs/ordering.md).
"""

from __future__ import annotations

import signal

import test_deferred
from sitehelper import Site
from test_call_model import API, plugin_dist
from test_deferred import Host

#: test_deferred.py's host fixture: its journal, the ledger plugin, its processes.
host = test_deferred.host



def test_a_job_given_back_on_sigterm_runs_again_with_the_same_attempt(host: Host) -> None:
    (host.gates / "block").touch()
    [uuid] = host.calls()
    worker = host.start("-m", "nova_hookspec", "worker", "--grace", "0.2")
    host.wait_for(lambda: any(line[:2] == ["start", "create"] for line in host.lines()),
                  "the plugin started")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0  # the running job was given back after the grace
    (host.gates / "block").unlink()
    host.drain()
    # Ledger: two runs of the one job, both its first attempt; done once, in the second.
    runs = [(line[0], line[3], line[4]) for line in host.lines() if line[2] == uuid]
    [(_, job, _)] = runs[:1]
    assert runs == [("start", job, "1"), ("start", job, "1"), ("done", job, "1")], runs


ORDER = """
@hookimpl({marks})
def create_instance_pre(display_name):
    hooklog.EVENTS.append("{tag}")
"""


def test_tryfirst_and_trylast_both_set_counts_as_trylast(site: Site) -> None:
    plugin_dist(site, "acme-both", ORDER.format(marks="tryfirst=True, trylast=True", tag="both"))
    plugin_dist(site, "acme-plain", ORDER.format(marks="", tag="plain"))
    plugin_dist(site, "acme-first", ORDER.format(marks="tryfirst=True", tag="first"))
    plugin_dist(site, "acme-last", ORDER.format(marks="trylast=True", tag="last"))
    API().create(None, "m1", "cirros", display_name="vm")
    assert site.events[:1] == ["first"]
    assert site.events[1] == "plain"
    assert set(site.events[2:]) == {"both", "last"}  # trylast, in the order pluggy gives
    assert len(site.events) == 4
