"""``nova-hookspec reconcile``, and the worker's ``--reconcile-every``.

Exit status: 0 when the pass queued its jobs (or, ``--dry-run``, judged the
drift), 1 when it was refused (more deletes than ``--max-deletes``), 2 when
a listing failed or a plugin cannot be reconciled; nothing is queued then;
130 when interrupted (Ctrl-C), with what was queued before it said.
Only counts, UUIDs and one error line are printed: never an instance's
fields nor a credential.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

from nova_hookspec._plugins.process import get_plugin_manager
from nova_hookspec.reconcile import engine, nova, run, schedule

EXIT = {"ok": 0, "dry-run": 0, "refused": 1, "failed": 2}


def _duration(text: str) -> float:
    try:
        return schedule.seconds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _interval(text: str) -> float:
    """A schedule's interval: a duration of more than 0 (0 would be no schedule at all)."""
    found = _duration(text)
    if found <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: an interval must be more than 0 (15m, 6h)")
    return found


def _at_least(minimum: int) -> Callable[[str], int]:
    """A whole number of ``minimum`` or more (a negative bound would refuse every pass,
    a page of 0 servers would never end the listing)."""

    def parse(text: str) -> int:
        try:
            found = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if found < minimum:
            raise argparse.ArgumentTypeError(f"{text!r}: {minimum} or more")
        return found

    return parse


def add_parser(commands: Any, config_arguments: Any) -> None:
    parser = commands.add_parser(
        "reconcile", help="queue the jobs that make plugins' external systems match Nova",
        description="Compare Nova's instances (its compute API, through openstacksdk) with "
                    "what each plugin's external system holds, and queue the plugin's "
                    "deferred create_instance_post / delete_instance_post jobs for the "
                    "difference (a backfill, for a plugin that knows nothing yet).")
    config_arguments(parser)
    parser.add_argument("--plugin", action="append", default=[], metavar="NAME",
                        help="reconcile this plugin only (repeatable; default: every plugin "
                             "with deferred create and delete observers)")
    parser.add_argument("--dry-run", action="store_true", help="judge the drift, queue nothing")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--os-cloud", metavar="CLOUD",
                        help="the clouds.yaml cloud of Nova's API (default: OS_CLOUD or the "
                             "OS_* variables)")
    parser.add_argument("--max-deletes", type=_at_least(0), default=engine.MAX_DELETES, metavar="N",
                        help=f"refuse a pass that would queue more deletes (default "
                             f"{engine.MAX_DELETES})")
    parser.add_argument("--force", action="store_true", help="queue the deletes over the bound")
    parser.add_argument("--grace", type=_duration, default=engine.GRACE, metavar="DURATION",
                        help=f"do not judge an instance changed within this time before the "
                             f"pass (default {engine.GRACE:.0f}s)")
    parser.add_argument("--lookback", type=_duration, default=engine.LOOKBACK,
                        metavar="DURATION",
                        help="how far back deleted instances are asked of Nova for the last "
                             "state of a stale entry (default 30d)")
    parser.add_argument("--page-size", type=_at_least(1), default=nova.PAGE_SIZE, metavar="N",
                        help=f"servers per page of Nova's listing (default {nova.PAGE_SIZE})")
    parser.add_argument("--metrics-file", metavar="FILE",
                        help="write the reconcile metrics here (default: beside the journal, "
                             "JOURNAL.reconcile.prom; needs prometheus_client)")


def add_worker_argument(worker: argparse.ArgumentParser) -> None:
    worker.add_argument("--reconcile-every", type=_interval, metavar="DURATION",
                        help="also run a reconcile pass now and then every DURATION (15m, 6h), "
                             "with the reconcile defaults; Nova's API from OS_CLOUD or OS_*")


def _options(args: argparse.Namespace) -> run.Options:
    return run.Options(plugins=list(args.plugin), dry_run=args.dry_run,
                       max_deletes=args.max_deletes, force=args.force, grace=args.grace,
                       lookback=args.lookback, cloud=args.os_cloud, page_size=args.page_size,
                       metrics_file=args.metrics_file)


def format_report(report: dict[str, Any]) -> str:
    """The human form of a pass's report."""
    lines = []
    verb = "would queue" if report["dry_run"] else "queued"
    for p in report["plugins"]:
        lines.append(f"{p['plugin']} ({p['source']}): {p['missing']} missing, {p['stale']} "
                     f"stale; not judged: {p['recent']} changed within the grace period, "
                     f"{p['waiting']} with a job waiting")
        if report["dry_run"]:
            lines += [f"  missing {uuid}" for uuid in p["missing_uuids"]]
            lines += [f"  stale   {uuid}" for uuid in p["stale_uuids"]]
    if report["outcome"] in ("ok", "dry-run"):
        if not report["plugins"]:
            lines.append("no plugin to reconcile (none has deferred create_instance_post and "
                         "delete_instance_post observers)")
        creates = sum(p["missing"] for p in report["plugins"])
        lines.append(f"reconcile: {verb} {creates} create(s) and {report.get('deletes', 0)} "
                     "delete(s)")
    else:
        lines.append(f"reconcile: {report['error']}")
    return "\n".join(lines)


def run_reconcile(args: argparse.Namespace) -> int:
    report = run.run(get_plugin_manager(), _options(args))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        text = format_report(report)
        failed = report["outcome"] in ("refused", "failed")
        print(text, file=sys.stderr if failed else sys.stdout)
    return 130 if report.get("interrupted") else EXIT[report["outcome"]]


def start_schedule(args: argparse.Namespace) -> None:
    """With ``--reconcile-every``, run passes in a thread of this worker."""
    interval = getattr(args, "reconcile_every", None)
    if interval:
        schedule.start(interval, _scheduled_pass)


def _scheduled_pass() -> None:
    report = run.run(get_plugin_manager(), run.Options())
    if report["outcome"] != "ok":
        run.log.error("reconcile pass %s: %s", report["outcome"], report["error"])
    else:
        run.log.info("reconcile pass ok: %s", ", ".join(
            f"{p['plugin']} {p['missing']} missing, {p['stale']} stale"
            for p in report["plugins"]) or "no plugin to reconcile")
