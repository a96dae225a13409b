"""Per-plugin sections of nova.conf that apply to nothing, through real processes.

A ``[nova_hookspec:PLUGIN]`` section sets one plugin's retries and time limit
(:mod:`nova_hookspec.deferred.middleware.overrides`). A misspelt plugin name or
option there used to be read by no one, in silence: the plugin ran under the
defaults. Now ``nova-hookspec check`` exits 1 naming the file, the section and
the option with the nearest valid name, and a worker logs each once.
"""

from __future__ import annotations

from pathlib import Path

import test_deferred
from test_deferred import Host

#: test_deferred.py's host fixture: its journal, the ledger plugin, its processes.
host = test_deferred.host

CONF = """\
[nova_hookspec:acme-ledgr]
time_limit = 5

[nova_hookspec:acme-ledger]
max_attempts = 3
time_limt = 5
"""


def test_check_names_unknown_plugin_sections_and_options(host: Host, tmp_path: Path) -> None:
    conf = tmp_path / "nova.conf"
    conf.write_text(CONF)
    done = host.run("-m", "nova_hookspec", "check", "--config-file", str(conf))
    assert done.returncode == 1, done.stdout + done.stderr
    section = (f"section [nova_hookspec:acme-ledgr] in {conf} names no installed plugin: "
               "its values apply to none; did you mean [nova_hookspec:acme-ledger]?")
    option = (f"unknown option 'time_limt' in [nova_hookspec:acme-ledger] of {conf}; "
              "did you mean 'time_limit'?")
    assert done.stdout.count(section) == 1, done.stdout
    assert done.stdout.count(option) == 1, done.stdout
    # The values that are right still apply, and check says where they come from.
    assert f"[nova_hookspec:acme-ledger] in {conf}" in done.stdout
    assert "max_attempts" in done.stdout


def test_a_worker_warns_once_and_runs_under_the_values_that_apply(host: Host,
                                                                   tmp_path: Path) -> None:
    conf = tmp_path / "nova.conf"
    conf.write_text(CONF)
    [uuid] = host.calls(1)
    done = host.drain("--config-file", str(conf))
    said = done.stdout + done.stderr  # the worker's log (oslo.log's, with a config file)
    assert said.count("section [nova_hookspec:acme-ledgr] in") == 1, said
    assert said.count("unknown option 'time_limt' in [nova_hookspec:acme-ledger]") == 1, said
    # The ledger: the job ran once, in the worker.
    assert [line[:3] for line in host.lines()] == [["start", "create", uuid],
                                                   ["done", "create", uuid]]
