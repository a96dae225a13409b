"""A whole reconcile pass as the command and the schedule run it: options in, report out.

The report is what ``nova-hookspec reconcile --json`` prints (schema
``nova-hookspec/reconcile/1``): the outcome (``ok``, ``dry-run``,
``refused``, ``failed``), the error line of a pass that did not queue, and
per plugin the drift (UUIDs missing in its external system, stale there),
the changes left for the grace period and the jobs queued. Every pass but a
dry run is counted in the host's reconcile state (:mod:`.state`).
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from nova_hookspec._plugins.manager import NovaPluginManager
from nova_hookspec.deferred import enqueue, settings
from nova_hookspec.reconcile import engine, state
from nova_hookspec.reconcile.nova import PAGE_SIZE, ListingError, NovaAPI, connect

log = logging.getLogger("nova_hookspec.reconcile")

SCHEMA = "nova-hookspec/reconcile/1"


@dataclass
class Options:
    """A pass's options (the command's flags; the defaults are :mod:`.engine`'s)."""

    plugins: list[str] = field(default_factory=list)
    dry_run: bool = False
    max_deletes: int = engine.MAX_DELETES
    force: bool = False
    grace: float = engine.GRACE
    lookback: float = engine.LOOKBACK
    cloud: str | None = None
    page_size: int = PAGE_SIZE
    metrics_file: str | None = None


def run(pm: NovaPluginManager, options: Options, nova: engine.Nova | None = None) -> dict[str, Any]:
    """Run one pass; its report. Never raises for a failed listing, a refusal or Ctrl-C
    (``interrupted`` in the report)."""
    report: dict[str, Any] = {"schema": SCHEMA, "outcome": "failed", "error": None,
                              "dry_run": options.dry_run, "grace": options.grace,
                              "max_deletes": options.max_deletes, "force": options.force,
                              "plugins": [], "queued": {}}
    try:
        journal = enqueue.journal().path
    except (sqlite3.Error, OSError) as exc:
        # Not counted: the pass's state lives beside the journal.
        report["error"] = f"the journal {settings.current().journal} cannot be used: {exc}"
        return report
    one = None
    try:
        found = engine.targets(pm, options.plugins)
        if not found:  # nothing to judge: a failed pass, so that the "no pass" alert fires
            raise engine.ReconcileError(
                "no plugin to reconcile: none has deferred create_instance_post and "
                "delete_instance_post (mark the observers @hookimpl(deferred=True) or name "
                "the plugin in the 'deferred' control); Nova was not asked")
        one = engine.Pass(nova or NovaAPI(connect(options.cloud), options.page_size), journal,
                          grace=options.grace, max_deletes=options.max_deletes,
                          force=options.force, lookback=options.lookback)
        report["started_at"] = one.started
        drifts = one.judge(found)
        report["plugins"] = [{"plugin": d.plugin, "source": d.source, "missing": len(d.missing),
                              "stale": len(d.stale), "recent": d.recent, "waiting": d.waiting,
                              "missing_uuids": d.missing, "stale_uuids": d.stale}
                             for d in drifts]
        report["deletes"] = one.deletes()
        if options.dry_run:
            report["outcome"] = "dry-run"
            return report
        report["queued"] = one.queue(found)
        report["outcome"] = "ok"
    except (ListingError, engine.ReconcileError) as exc:
        report["error"] = str(exc)
    except engine.TooManyDeletes as exc:
        report["outcome"], report["error"] = "refused", str(exc)
    except KeyboardInterrupt:  # the operator's Ctrl-C: said in one line, the pass counted
        report["interrupted"] = True
        written = dict(one.written) if isinstance(one, engine.Pass) else {}
        count = sum(written.values())
        report["queued"] = written
        report["error"] = ("interrupted; nothing was queued" if not count else
                           f"interrupted after queueing {count} job(s): they stand, and the "
                           "next pass leaves their instances to them")
    finally:
        if isinstance(one, engine.Pass) and hasattr(one.nova, "pages"):
            report["pages"] = one.nova.pages
        if not options.dry_run:
            _count(journal, report, options.metrics_file)
    return report


def _count(journal: str, report: dict[str, Any], metrics_file: str | None) -> None:
    """Count the pass, then write the metrics; a file that cannot be written is named
    (the one the operator knows, not a temporary one) and the pass stands."""
    try:
        found = state.record(journal, report)
    except OSError as exc:
        log.error("reconcile: cannot write the reconcile state %s: %s", state.path_of(journal),
                  exc.strerror or exc)
        return
    path = metrics_file or state.metrics_path_of(journal)
    try:
        state.write_metrics(found, path)
    except ImportError:
        if metrics_file:
            log.error("reconcile: --metrics-file %s needs prometheus_client (pip install "
                      "'nova-hookspec[prometheus]')", metrics_file)
    except OSError as exc:
        log.error("reconcile: cannot write the metrics file %s: %s", path, exc.strerror or exc)
