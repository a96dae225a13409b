"""``nova-hookspec worker`` and ``nova-hookspec deferred status|list|retry|drop``.

The worker and every ``deferred`` command find the journal as the service
does, from the same nova.conf (``[DEFAULT] state_path``, ``[nova_hookspec]
journal``). Looking never creates one: ``status`` and ``list`` say when
there is none yet. No output shows a job's arguments: only ids, plugins,
hooks, states, attempts, times and the errors of failed runs. A job id is
the journal's number or ``HOST:NUMBER`` as plugins see it
(``delivery.job_id``), in every command.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import logging
import os
import sqlite3
import sys
from typing import Any, Callable

from nova_hookspec._cli import output
from nova_hookspec._cli import reconcile as _reconcile
from nova_hookspec._plugins.process import get_plugin_manager
from nova_hookspec.deferred import settings
from nova_hookspec.deferred.brokers import journal_ids, journal_read
from nova_hookspec.deferred.brokers.journal import Journal

STATUS_SCHEMA = "nova-hookspec/deferred-status/1"
LIST_SCHEMA = "nova-hookspec/deferred-list/1"
ACTION_SCHEMA = "nova-hookspec/deferred-action/1"

#: The largest job number SQLite can hold: a larger one names no job.
_LARGEST = 2**63 - 1

Options = Callable[[argparse.ArgumentParser], None]


def add_parsers(commands: Any, options: Options, options_after: Options) -> None:
    """``worker`` and ``deferred``; ``options`` adds the configuration options,
    ``options_after`` the same to each ``deferred`` action (after its name)."""
    worker = commands.add_parser(
        "worker", help="run the deferred post hooks of this host's journal",
        description="Run the deferred plugins' jobs from this host's journal (and, with a "
                    "broker, relay it and run jobs of every host), with the plugins this "
                    "process discovers; SIGTERM stops it gracefully.")
    options(worker)
    worker.add_argument("--lanes", type=int, default=1, metavar="N",
                        help="jobs run at the same time (default 1)")
    worker.add_argument("--grace", type=float, default=30.0, metavar="SECONDS",
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
    worker.add_argument("--json", action="store_true",
                        help="log one JSON object per line on standard error (time, level, "
                             "logger, message) instead of text")
    _reconcile.add_worker_argument(worker)
    deferred = commands.add_parser(
        "deferred", help="see and handle deferred jobs",
        description="See this host's deferred jobs (and, with a broker, its lanes and dead "
                    "letters) and handle the dead ones. Reads the journal the service and "
                    "the worker use; never creates one.")
    options(deferred)
    actions = deferred.add_subparsers(dest="action", required=True, metavar="ACTION")
    status = actions.add_parser(
        "status", help="counts per state, oldest pending job",
        description="Jobs pending, running and dead, the age of the oldest pending one and "
                    "the counters per plugin and hook; with a broker also the jobs queued, "
                    "held by lane runners (and why) and dead there, and the plugins no "
                    "worker runs.")
    listing = actions.add_parser(
        "list", help="pending jobs (or dead ones) without arguments",
        description="Pending and running jobs (with a broker also those its lane runners "
                    "hold and those ready in lanes no runner holds, with why and since "
                    "when; or, with --dead, the dead letters with their last error); never "
                    "their arguments.")
    listing.add_argument("--dead", action="store_true", help="the dead letters")
    retry = actions.add_parser(
        "retry", help="make a dead job (or every one) pending again",
        description="Make a dead job (or, with --dead, every one) pending again, with "
                    "max_attempts runs again. Exit status 1 when there was none.")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", type=_job_id,
                       help="the job id: NUMBER, or HOST:NUMBER as plugins see it")
    which.add_argument("--dead", action="store_true", help="every dead job")
    drop = actions.add_parser(
        "drop", help="forget a dead job",
        description="Forget a dead job for good. Exit status 1 when there was none.")
    drop.add_argument("id", type=_job_id,
                      help="the job id: NUMBER, or HOST:NUMBER as plugins see it")
    schemas = {status: STATUS_SCHEMA, listing: LIST_SCHEMA, retry: ACTION_SCHEMA,
               drop: ACTION_SCHEMA}
    for action, schema in schemas.items():
        action.add_argument("--json", action="store_true",
                            help=f"print JSON for machines (schema {schema})")
        options_after(action)


def _job_id(text: str) -> int | str:
    """A journal's job number, or ``HOST:NUMBER``: ASCII digits only (``int()`` takes
    any Unicode digit: full-width digits are no job number)."""
    if text.isascii() and text.isdigit():
        return int(text)
    host, _, number = text.rpartition(":")
    if not host or not text.isascii() or not number.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a job id (NUMBER or HOST:NUMBER)")
    return text


def _local_number(job_id: int | str, host: str) -> int | None:
    """The journal's number of ``job_id`` when it is one of this journal's jobs."""
    if isinstance(job_id, str):
        named, _, number = job_id.rpartition(":")
        if named != host:
            return None
        job_id = int(number)
    return job_id if job_id <= _LARGEST else None


def _when(stamp: Any) -> str:
    """A time in UTC; ``unknown`` for one that is no time (NaN, inf, out of range, not a
    number: a damaged or forged record must not stop a listing)."""
    if stamp is None:
        return "-"
    if isinstance(stamp, bool) or not isinstance(stamp, (int, float)):
        return "unknown"
    try:
        return datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):  # NaN, inf, a year past 9999
        return "unknown"


def _logging(args: argparse.Namespace) -> None:
    """Log as a Nova service does: oslo.log from the configuration files when both are
    there (``log_file``, ``debug``, ``use_journal``...), else to stderr; with ``--json``
    one JSON object per line on stderr."""
    if args.json:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(output.JsonLines())
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.INFO)
        return
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


def _settings(command: str) -> settings.Settings:
    """The settings in force, or one line naming the wrong one (exit status 2)."""
    try:
        return settings.current()
    except ValueError as exc:
        raise SystemExit(f"nova-hookspec {command}: {exc}") from None


def _rabbit(found: settings.Settings, command: str) -> Any:
    """The broker's side of the deferred jobs, or ``None`` (the one-host journal)."""
    from nova_hookspec.deferred.brokers import rabbit

    try:
        found_rabbit = rabbit.configured(found)
    except ValueError as exc:
        raise SystemExit(f"nova-hookspec {command}: {exc}") from None
    if found_rabbit is not None and importlib.util.find_spec("kombu") is None:
        raise SystemExit(f"nova-hookspec {command}: a broker is configured but kombu is not "
                         "installed (pip install 'nova-hookspec[rabbit]'; every Nova "
                         "environment has it)")
    return found_rabbit


def _journal(found: settings.Settings, command: str, create: bool) -> Journal:
    """The journal, opened; without ``create`` a missing one reads as empty (its
    spooled jobs still counted) and nothing is made."""
    try:
        return Journal(found.journal, found.journal_sync, create=create)
    except (sqlite3.Error, OSError, journal_ids.DamagedMark) as exc:
        raise SystemExit(f"nova-hookspec {command}: the journal {found.journal} cannot be "
                         f"used: {exc}") from None


def _reading(found: settings.Settings) -> Journal:
    """The journal for ``status`` and ``list``: read as it is on disk when it cannot be
    opened for writing (:mod:`..deferred.brokers.journal_read`)."""
    try:
        store, why = journal_read.open_for_reading(found.journal, found.journal_sync)
    except (sqlite3.Error, OSError, journal_ids.DamagedMark) as exc:
        raise SystemExit(f"nova-hookspec deferred: the journal {found.journal} cannot be "
                         f"used: {exc}") from None
    if why is not None:
        print(f"nova-hookspec deferred: {why}", file=sys.stderr)
    return store


def run_worker(args: argparse.Namespace) -> int:
    from nova_hookspec.deferred import lifecycle

    lifecycle.catch_early_signals()  # before the plugins load (they may take seconds)
    _logging(args)
    found = _settings("worker")
    rabbit = _rabbit(found, "worker")
    if rabbit is None and (args.relay_only or args.no_relay):
        raise SystemExit("nova-hookspec worker: --relay-only and --no-relay need a broker "
                         "([nova_hookspec] transport_url, or broker = true)")
    if args.lanes < 1 or not 0 <= args.grace <= settings.MOST:  # not nan either
        raise SystemExit("nova-hookspec worker: --lanes must be 1 or more and --grace 0 "
                         f"to {settings.MOST:g} seconds")
    store = _journal(found, "worker", create=True)
    served = None
    if args.metrics_port is not None:
        from nova_hookspec.deferred import metrics

        try:
            served = metrics.serve(store, args.metrics_port, args.metrics_address)
        except ImportError as exc:
            raise SystemExit(f"nova-hookspec worker: {exc}") from None
        except (OSError, OverflowError) as exc:
            raise SystemExit(f"nova-hookspec worker: cannot serve metrics on "
                             f"{args.metrics_address} port {args.metrics_port}: "
                             f"{getattr(exc, 'strerror', None) or exc}") from None
    _reconcile.start_schedule(args)
    from nova_hookspec.deferred import service

    return service.run(get_plugin_manager(), store, found, rabbit=rabbit, lanes=args.lanes,
                       grace=args.grace, drain=args.drain, relay=not args.no_relay,
                       run_jobs=not args.relay_only, metrics=served)


def run_deferred(args: argparse.Namespace) -> int:
    output.plain_logging()
    found = _settings("deferred")
    rabbit = _rabbit(found, "deferred")
    if args.action in ("status", "list"):  # looking writes nothing, on a full disk too
        store = _reading(found)
    else:
        store = _journal(found, "deferred", create=False)
    try:
        return _deferred(args, found, store, rabbit)
    except BrokenPipeError:
        raise
    except ConnectionError as exc:  # the broker is unreachable (BrokerUnreachableError)
        print(f"nova-hookspec deferred: {exc}", file=sys.stderr)
        return 2
    except (sqlite3.Error, OSError) as exc:  # OSError: its spool under a file, say
        print(f"nova-hookspec deferred: the journal {found.journal} cannot be used: {exc}",
              file=sys.stderr)
        return 2


def _deferred(args: argparse.Namespace, found: settings.Settings, store: Journal,
              rabbit: Any) -> int:
    if (not os.path.exists(found.journal) and not args.json
            and (rabbit is None or args.action == "status") and not store.status()["spooled"]):
        print(f"no journal at {found.journal}: nothing deferred yet", file=sys.stderr)
    if args.action == "status":
        return _status(args, store, rabbit)
    if args.action == "list":
        return _list(args, store, rabbit)
    refused: list[str] = []
    if args.action == "retry":
        count = 0
        number = None if args.dead else _local_number(args.id, store.host)
        gone = _after_their_delete(store, number) if args.dead or number is not None else {}
        for line in gone.values():
            print(line, file=sys.stderr)
        refused = [f"{store.host}:{n}" for n in gone]
        if args.dead:
            count += store.retry(None, but=list(gone))
        elif number is not None and not gone:
            count += store.retry(number)
        if rabbit is not None and (args.dead or isinstance(args.id, str)) and not (
                gone and not args.dead):
            count += rabbit.retry(None if args.dead else args.id)
        said = (f"{count} dead job(s) pending again" if count
                else f"{len(gone)} dead create(s) not retried" if gone
                else "no dead jobs" if args.dead else f"no dead job {args.id}")
    else:
        count = 0
        number = _local_number(args.id, store.host)
        if number is not None:
            count = store.drop(number)
        if not count and rabbit is not None and isinstance(args.id, str):
            count = rabbit.drop(args.id)
        said = f"{count} dead job(s) dropped" if count else f"no dead job {args.id}"
    if args.json:
        print(output.dumps({"schema": ACTION_SCHEMA, "action": args.action,
                            "id": None if args.action == "retry" and args.dead else
                            str(args.id), "count": count,
                            **({"refused": refused} if args.action == "retry" else {})}))
    else:
        print(said)
    return 0 if count else 1


def _after_their_delete(store: Journal, number: int | None) -> dict[int, str]:
    """The dead creates (job ``number``, or all) that ``deferred retry`` refuses, each
    with its line: every instance of it had its delete delivered since (the delivered
    record, :mod:`nova_hookspec.deferred.delivered`), so the create would run after
    the delete and leave the plugin's system holding a deleted instance."""
    from nova_hookspec.deferred import delivered

    found = {}
    for job, plugin, instances in store.dead_creates(number):
        if delivered.deleted(store.path, plugin, instances):
            found[job] = (f"nova-hookspec deferred retry: job {store.host}:{job} ({plugin}, "
                          f"create_instance_post) not retried: the delete of its instance(s) "
                          f"{', '.join(instances)} finished since, and the create would run "
                          f"after it; 'nova-hookspec deferred drop {store.host}:{job}' "
                          "forgets it")
    return found


def _status(args: argparse.Namespace, store: Journal, rabbit: Any) -> int:
    """This host's journal (with a broker: its outbox) and the broker's lanes; exit
    status 1 when the broker cannot be reached (the outbox is still shown)."""
    status = store.status()
    if rabbit is not None:
        from nova_hookspec._cli import broker

        status = broker.status(rabbit, status, down_ok=True)
    down = status.get("broker_down")
    if args.json:
        print(output.dumps({"schema": STATUS_SCHEMA, **status}))
        return 1 if down else 0
    age = status["oldest_pending_age"]
    print(f"journal {status['journal']}: {status['pending']} pending, "
          f"{status['running']} running, {status['dead']} dead; oldest pending: "
          f"{'none' if age is None else f'{age:.1f} s old'}")
    if status["spooled"]:
        print(f"spool {status['spool']}: {status['spooled']} of the pending jobs not "
              "collected yet")
    if down:
        print(f"{down}: the broker is down; {status['outbox']} job(s) of this host wait in "
              "its outbox")
    elif rabbit is not None:
        on = status["broker"]
        print(f"broker {on['broker']} ({on['prefix']}): {on['queued']} queued in "
              f"{len(on['lanes'])} lane(s), {on['held']} held by lane runners, "
              f"{on['dead']} dead, {on['worker_lanes']} lane runner(s) alive")
        for why, count in sorted(on["held_why"].items()):
            print(f"  held, {why}: {count}")
        for row in on["unrun"]:
            print(f"  no worker runs plugin {row['plugin']}: {row['queued']} job(s) wait "
                  "in its lanes")
    for row in status["counters"]:
        print(f"  {row['plugin']}  {row['hook']}  {row['what']}: {row['count']}")
    return 1 if down else 0


def _list(args: argparse.Namespace, store: Journal, rabbit: Any) -> int:
    jobs = store.jobs(dead=args.dead)
    if args.dead and rabbit is not None:
        jobs += rabbit.dead()
    elif rabbit is not None:  # held by the lane runners, or ready in lanes none holds
        from nova_hookspec._cli import broker

        jobs += broker.jobs(rabbit, store.status())
    if args.json:
        print(output.dumps({"schema": LIST_SCHEMA, "dead": args.dead, "jobs": jobs}))
        return 0
    if not jobs:
        print("no dead jobs" if args.dead else "no pending jobs")
    for job in jobs:
        last = job["history"][-1]["error"] if job["history"] else ""
        number = "-" if job["id"] is None else job["id"]  # spooled: no number yet
        why = (f"  {job['why']} since {_when(job['since'])}" + (
            f" ({job['worker']})" if job.get("worker") else "")) if "why" in job else ""
        print(f"{number:>6}  {job['state']:<8} {job['plugin']}  {job['hook']}  "
              f"attempts {job['attempts']}  enqueued {_when(job['enqueued_at'])}{why}"
              + (f"  last error: {last}" if last else ""))
    return 0
