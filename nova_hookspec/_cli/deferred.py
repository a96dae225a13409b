"""``nova-hookspec worker`` and ``nova-hookspec deferred status|list|retry|drop``.

No output shows a job's arguments: only ids, plugins, hooks, states,
attempts, times and the errors of failed runs.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import logging
import sys
from typing import Any

from nova_hookspec._plugins.process import get_plugin_manager
from nova_hookspec.deferred import enqueue, settings
from nova_hookspec.deferred.worker import Worker

STATUS_SCHEMA = "nova-hookspec/deferred-status/1"
LIST_SCHEMA = "nova-hookspec/deferred-list/1"


def add_parsers(commands: Any, config_arguments: Any) -> None:
    worker = commands.add_parser(
        "worker", help="run the deferred post hooks of this host's journal",
        description="Run the deferred plugins' jobs from this host's journal, with the "
                    "plugins this process discovers; SIGTERM stops it gracefully.")
    config_arguments(worker)
    worker.add_argument("--lanes", type=int, default=1, help="jobs run at the same time")
    worker.add_argument("--grace", type=float, default=30.0,
                        help="seconds running jobs get to finish on SIGTERM (default 30)")
    worker.add_argument("--drain", action="store_true",
                        help="exit once every job is done or dead, waiting for retries (for "
                             "tests, cron and upgrades)")
    roles = worker.add_mutually_exclusive_group()
    roles.add_argument("--relay-only", action="store_true",
                       help="with a broker: only relay this host's journal to it, run no job "
                            "(on each Nova host)")
    roles.add_argument("--no-relay", action="store_true",
                       help="with a broker: only run jobs from it, relay nothing (a worker "
                            "host without Nova)")
    worker.add_argument("--metrics-port", type=int, metavar="PORT",
                        help="serve Prometheus metrics on this port (needs prometheus_client)")
    worker.add_argument("--metrics-address", default="127.0.0.1", metavar="ADDRESS",
                        help="the address the metrics are served on (default 127.0.0.1)")
    deferred = commands.add_parser("deferred", help="see and handle deferred jobs")
    config_arguments(deferred)
    actions = deferred.add_subparsers(dest="action", required=True, metavar="ACTION")
    status = actions.add_parser("status", help="counts per state, oldest pending job")
    status.add_argument("--json", action="store_true")
    listing = actions.add_parser("list", help="pending jobs (or dead ones) without arguments")
    listing.add_argument("--dead", action="store_true", help="the dead letters")
    listing.add_argument("--json", action="store_true")
    retry = actions.add_parser("retry", help="make a dead job (or every one) pending again")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", type=_job_id,
                       help="the job id (HOST:NUMBER for the broker's dead letters)")
    which.add_argument("--dead", action="store_true", help="every dead job")
    drop = actions.add_parser("drop", help="forget a dead job")
    drop.add_argument("id", type=_job_id)


def _job_id(text: str) -> int | str:
    """A journal's job number, or a broker job's ``HOST:NUMBER``."""
    if text.isdigit():
        return int(text)
    host, _, number = text.rpartition(":")
    if not host or not number.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a job id (NUMBER or HOST:NUMBER)")
    return text


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def _logging(args: argparse.Namespace) -> None:
    """Log as a Nova service does: oslo.log from the configuration files when both are
    there (``log_file``, ``debug``, ``use_journal``...), else to stderr."""
    if args.config_file or args.config_dir:
        try:
            from oslo_config import cfg
            from oslo_log import log as oslo_log
        except ImportError:
            pass
        else:
            conf = cfg.ConfigOpts()
            oslo_log.register_options(conf)
            files = [arg for f in args.config_file for arg in ("--config-file", f)]
            files += [arg for d in args.config_dir for arg in ("--config-dir", d)]
            conf(files, project="nova", default_config_files=[], default_config_dirs=[])
            oslo_log.setup(conf, "nova-hookspec-worker")
            logging.getLogger("nova_hookspec").setLevel(logging.INFO)
            return
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s %(message)s")


def _rabbit(found: settings.Settings) -> Any:
    """The broker's side of the deferred jobs, or ``None`` (the one-host journal)."""
    from nova_hookspec.deferred.brokers import rabbit

    found_rabbit = rabbit.configured(found)
    if found_rabbit is not None and importlib.util.find_spec("kombu") is None:
        raise ImportError("a broker is configured but kombu is not installed (pip install "
                          "'nova-hookspec[rabbit]'; every Nova environment has it)")
    return found_rabbit


def run_worker(args: argparse.Namespace) -> int:
    _logging(args)
    found = settings.current()
    try:
        rabbit = _rabbit(found)
    except (ImportError, ValueError) as exc:
        raise SystemExit(f"nova-hookspec worker: {exc}") from None
    if rabbit is None and (args.relay_only or args.no_relay):
        raise SystemExit("nova-hookspec worker: --relay-only and --no-relay need a broker "
                         "([nova_hookspec] transport_url, or broker = true)")
    store = enqueue.journal()
    observe = None
    if args.metrics_port is not None:
        from nova_hookspec.deferred import metrics

        try:
            observe = metrics.serve(store, args.metrics_port, args.metrics_address)
        except ImportError as exc:
            raise SystemExit(f"nova-hookspec worker: {exc}") from None
    if rabbit is not None:
        from nova_hookspec._cli.broker import run_broker_worker

        return run_broker_worker(args, rabbit, store, found, observe)
    worker = Worker(store, get_plugin_manager(), found, lanes=args.lanes, grace=args.grace,
                    observe=observe)
    worker.handle_signals()
    return worker.run(drain=args.drain)


def run_deferred(args: argparse.Namespace) -> int:
    store = enqueue.journal()
    try:
        rabbit = _rabbit(settings.current())
    except (ImportError, ValueError) as exc:
        raise SystemExit(f"nova-hookspec deferred: {exc}") from None
    try:
        return _deferred(args, store, rabbit)
    except ConnectionError as exc:  # the broker is unreachable (BrokerUnreachableError)
        print(f"nova-hookspec deferred: {exc}", file=sys.stderr)
        return 2


def _deferred(args: argparse.Namespace, store: Any, rabbit: Any) -> int:
    if args.action == "status":
        if rabbit is not None:
            from nova_hookspec._cli import broker

            status = broker.status(rabbit, store)
        else:
            status = store.status()
        if args.json:
            print(json.dumps({"schema": STATUS_SCHEMA, **status}, indent=2))
        else:
            age = status["oldest_pending_age"]
            print(f"journal {status['journal']}: {status['pending']} pending, "
                  f"{status['running']} running, {status['dead']} dead; oldest pending "
                  f"{'-' if age is None else f'{age:.1f} s'} old")
            if rabbit is not None:
                on = status["broker"]
                print(f"broker {on['broker']} ({on['prefix']}): {on['queued']} queued in "
                      f"{len(on['lanes'])} lane(s), {on['dead']} dead, "
                      f"{on['worker_lanes']} lane runner(s) alive")
            for row in status["counters"]:
                print(f"  {row['plugin']}  {row['hook']}  {row['what']}: {row['count']}")
        return 0
    if args.action == "list":
        jobs = store.jobs(dead=args.dead)
        if args.dead and rabbit is not None:
            jobs += rabbit.dead()
        if args.json:
            print(json.dumps({"schema": LIST_SCHEMA, "dead": args.dead, "jobs": jobs}, indent=2))
            return 0
        if not jobs:
            print("no dead jobs" if args.dead else "no pending jobs")
        for job in jobs:
            last = job["history"][-1]["error"] if job["history"] else ""
            print(f"{job['id']:>6}  {job['state']:<8} {job['plugin']}  {job['hook']}  "
                  f"attempts {job['attempts']}  enqueued {_when(job['enqueued_at'])}"
                  + (f"  last error: {last}" if last else ""))
        return 0
    if args.action == "retry":
        count = 0
        if args.dead or isinstance(args.id, int):
            count += store.retry(None if args.dead else args.id)
        if rabbit is not None and (args.dead or isinstance(args.id, str)):
            count += rabbit.retry(None if args.dead else args.id)
        print(f"{count} dead job(s) pending again")
        return 0 if count else 1
    if isinstance(args.id, str):
        count = rabbit.drop(args.id) if rabbit is not None else 0
    else:
        count = store.drop(args.id)
    print(f"{count} dead job(s) dropped" if count else f"no dead job {args.id}")
    return 0 if count else 1
