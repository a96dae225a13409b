"""Deferred post hooks: off Nova's request path, never lost, in order.

A ``NAME_post`` observer marked ``@hookimpl(deferred=True)`` (or named in the
operator's ``deferred`` control) is not run by the hooked call: the call
writes one job per deferred plugin to a durable store and returns; a worker
(``nova-hookspec worker``) runs the jobs later, at least once each, in order
per instance and plugin.

The parts, each one idea (in the manner of dramatiq's ``broker.py`` and
``brokers/``):

* :mod:`.jobs` - a job, what a plugin gets to know of its delivery
  (``delivery``), and :class:`Retry`;
* :mod:`.carry` - the arguments as they were when the call returned, written
  without secrets and rebuilt in the worker;
* :mod:`.broker` - the interface between where jobs are kept and who runs
  them; :mod:`.brokers.journal` keeps them in one SQLite file per host,
  :mod:`.backends.stub` in memory for fast tests;
* :mod:`.settings` - the options and their defaults;
* :mod:`.middleware` - the run policies, one module each: retries (backoff
  with jitter, ``Retry``, dead letters), time limits, and which values apply
  to a plugin (the operator's, the plugin's, the settings');
* :mod:`.execution` - one run of one job under its policies, the same for
  both engines;
* :mod:`.enqueue` - what the hooked call runs in a deferred observer's place;
* :mod:`.worker` - claims jobs with a lease and runs them in lanes;
* :mod:`.lifecycle` - start, SIGTERM with grace, drain, stop and exit status,
  one for both workers; :mod:`.service` - the worker process's one entry,
  on one host and across hosts; :mod:`.reconnect` - the backoff of every
  reconnect and retry loop;
* :mod:`.health` and :mod:`.metrics` - what ``check`` and Prometheus see.

Across hosts, on Nova's RabbitMQ:

* :mod:`.transport` - which broker, from Nova's configuration, shown
  without credentials;
* :mod:`.brokers.rabbit` - the names, confirmed publishing, dead letters;
* :mod:`.relay` - from this host's journal (the outbox) to the broker;
* :mod:`.lanes` - the order of one lane: retries in place, deletes after
  their creates;
* :mod:`.consumer` - lane runners sharing the lanes among the workers.

Importing nova_hookspec imports only :mod:`.jobs` of it: the rest comes with
the first deferred observer registered (a process with none never pays for it).
"""

from __future__ import annotations

from typing import Any, Callable

from nova_hookspec._plugins import deferral as _deferral
from nova_hookspec.deferred.jobs import Delivery, Retry

__all__ = ["Delivery", "Retry"]


def _job_writer(deferred: _deferral.Deferred) -> Callable[..., Any]:
    from nova_hookspec.deferred import enqueue  # with the first deferred observer

    return enqueue.make(deferred)


_deferral.provide(_job_writer)
