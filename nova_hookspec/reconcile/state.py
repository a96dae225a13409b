"""What the reconcile passes of a host did, kept for the metrics and the alert.

A pass run by a systemd timer is a process that ends; the passes of a
worker's schedule live as long as the worker. Both keep their counts in one
small JSON file beside the journal, ``<journal>.reconcile.json``: passes by
outcome, the time of the last successful one, and the drift the last
judged pass found per plugin and kind. From it the metrics are written in
Prometheus' text format (``prometheus_client``, optional) to
``<journal>.reconcile.prom``, or the ``--metrics-file`` given, for
node_exporter's textfile collector:

* ``nova_hookspec_reconcile_passes_total{outcome}``: ``ok``, ``refused``
  (over ``--max-deletes``), ``failed`` (a listing failed or came back cut);
* ``nova_hookspec_reconcile_last_success_timestamp_seconds``: the end of the
  last ``ok`` pass (0 before one) - the alert rule watches it;
* ``nova_hookspec_reconcile_drift{plugin, kind}``: what the last judged pass
  found, ``kind`` ``missing`` or ``stale``.

A dry run changes none of it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from typing import Any

from nova_hookspec.deferred import ownership

OUTCOMES = ("ok", "refused", "failed")


def path_of(journal: str) -> str:
    return f"{journal}.reconcile.json"


def metrics_path_of(journal: str) -> str:
    return f"{journal}.reconcile.prom"


def load(journal: str) -> dict[str, Any]:
    try:
        with open(path_of(journal)) as file:
            found: dict[str, Any] = json.load(file)
    except (OSError, ValueError):
        found = {}
    found.setdefault("passes", {})
    found.setdefault("last_success", None)
    found.setdefault("drift", [])
    return found


def _replace(path: str, text: str) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)  # a leftover of a pass that died: ours to replace
    # 0600, owned as its folder: a pass run as root leaves it usable by the service's user.
    with open(ownership.open_new(temporary, os.O_WRONLY), "w") as file:
        file.write(text)
    os.replace(temporary, path)


def record(journal: str, report: dict[str, Any]) -> dict[str, Any]:
    """Count the pass of ``report`` (not a dry run); the new state."""
    found = load(journal)
    outcome = report["outcome"]
    found["passes"][outcome] = found["passes"].get(outcome, 0) + 1
    if outcome == "ok":
        found["last_success"] = time.time()
    if report["plugins"]:
        found["drift"] = [{"plugin": p["plugin"], "kind": kind, "count": p[kind]}
                          for p in report["plugins"] for kind in ("missing", "stale")]
    _replace(path_of(journal), json.dumps(found))
    return found


def write_metrics(found: dict[str, Any], path: str) -> None:
    """``found`` (:func:`load`) as Prometheus' text format in ``path``.

    :raises ImportError: ``prometheus_client`` is not installed.
    """
    from prometheus_client import CollectorRegistry, Counter, Gauge, write_to_textfile

    registry = CollectorRegistry()
    passes = Counter("nova_hookspec_reconcile_passes", "Reconcile passes by outcome",
                     ["outcome"], registry=registry)
    for outcome in OUTCOMES:
        passes.labels(outcome).inc(found["passes"].get(outcome, 0))
    Gauge("nova_hookspec_reconcile_last_success_timestamp_seconds",
          "End of the last successful reconcile pass", registry=registry).set(
        found["last_success"] or 0)
    drift = Gauge("nova_hookspec_reconcile_drift",
                  "Drift the last judged reconcile pass found, by plugin and kind",
                  ["plugin", "kind"], registry=registry)
    for row in found["drift"]:
        drift.labels(row["plugin"], row["kind"]).set(row["count"])
    write_to_textfile(path, registry)
