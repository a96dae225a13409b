"""The reconcile tests' two plugins, one source for both suites.

``tests/test_reconcile.py`` (a fake Nova API, ``nox -s tests``) and
``tests_reconcile/test_reconcile_done_when.py`` (Nova's real API, ``nox -s
reconcile``, under each series' pinned pytest and Python) install the same
two plugins as a real distribution: Alpha lists what its external system
holds (``known_instances``), Beta cannot and is judged by the record of what
its jobs delivered. Plain text, imported by file location from the other
suite, so that it needs nothing either suite's environment may lack.

The ledger (``LEDGER``), one line a run:
``alpha create UUID SOURCE KIND PROJECT HOSTNAME RESULT``,
``alpha delete UUID SOURCE DELETED HOSTNAME``, ``beta create|delete UUID SOURCE``;
``KIND`` is the instance's class, module-qualified (``nova.objects.instance.Instance``
where Nova is importable). ``ALPHA_DOWN`` makes Alpha's listing fail after its
first entry.

:class:`Commands` is what both suites' operators run: the reconcile, its
report, the worker's drain, the pending count and the ledger.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

PLUGINS = '''
import json, os, threading
from pathlib import Path
import nova_hookspec

def _ledger(*words):
    with open(os.environ["LEDGER"], "a") as f:
        f.write(" ".join(str(w) for w in words) + "\\n")

def _kind(inst):
    return type(inst).__module__ + "." + type(inst).__name__

def _hostname(inst):
    # A real nova.objects.Instance raises on reading a field it does not hold (a
    # stale entry Nova never had is its UUID only): ask first, as Nova's code does.
    holds = getattr(inst, "obj_attr_is_set", None)
    if holds is not None and not holds("hostname"):
        return "-"
    return getattr(inst, "hostname", None) or "-"

class Alpha:
    """An external system that can list what it holds (a JSON file of UUIDs; one
    change at a time, as a real system's API would: the worker's lanes run in parallel)."""
    path = Path(os.environ["ALPHA_DB"])
    lock = threading.Lock()

    def _held(self):
        return json.loads(self.path.read_text()) if self.path.exists() else []

    def _save(self, held):
        # Whole or not at all, as a real system's listing is: a reader beside the
        # worker (a reconcile pass) never reads a file half written.
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(held))
        os.replace(tmp, self.path)

    @nova_hookspec.hookimpl
    def known_instances(self):
        for uuid in self._held():
            yield uuid
            if os.environ.get("ALPHA_DOWN"):
                raise ConnectionError("inventory unreachable")

    @nova_hookspec.hookimpl(deferred=True)
    def create_instance_post(self, result, context, delivery):
        with self.lock:
            held = self._held()
            for inst in result[0]:
                held.append(inst.uuid)
                _ledger("alpha create", inst.uuid, delivery.source, _kind(inst),
                        context.project_id, inst.hostname, result[1])
            self._save(held)

    @nova_hookspec.hookimpl(deferred=True)
    def delete_instance_post(self, instance, delivery):
        with self.lock:
            self._save([u for u in self._held() if u != instance.uuid])
        _ledger("alpha delete", instance.uuid, delivery.source, instance.deleted,
                _hostname(instance))

class Beta:
    """An external system that cannot list: judged by what its jobs delivered."""

    @nova_hookspec.hookimpl(deferred=True)
    def create_instance_post(self, result, delivery):
        for inst in result[0]:
            _ledger("beta create", inst.uuid, delivery.source)

    @nova_hookspec.hookimpl(deferred=True)
    def delete_instance_post(self, instance, delivery):
        _ledger("beta delete", instance.uuid, delivery.source)

ALPHA = Alpha()
BETA = Beta()
'''


class Commands:
    """The commands, as processes with ``env``; a subclass sets ``env``, ``ledger``
    and the arguments its cloud needs."""

    env: dict[str, str]
    ledger: Path
    #: Seconds one command may take.
    timeout = 300.0
    #: What ``reconcile`` adds before its own arguments (the cloud, the page size).
    reconcile_args: tuple[str, ...] = ()
    #: What ``drain`` adds to ``worker --drain``.
    drain_args: tuple[str, ...] = ()

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                              env=self.env, timeout=self.timeout, check=False)

    def reconcile(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("nova_hookspec", "reconcile", *self.reconcile_args, *args)

    def report(self, *args: str) -> dict[str, Any]:
        done = self.reconcile("--json", *args)
        assert done.returncode in (0, 1, 2), done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    def drain(self) -> None:
        done = self.run("nova_hookspec", "worker", "--drain", *self.drain_args)
        assert done.returncode == 0, done.stderr

    def pending(self) -> int:
        done = self.run("nova_hookspec", "deferred", "status", "--json")
        assert done.returncode == 0, done.stderr
        return int(json.loads(done.stdout)["pending"])

    def lines(self) -> list[list[str]]:
        return ([line.split() for line in self.ledger.read_text().splitlines()]
                if self.ledger.exists() else [])
