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
  them; :mod:`.brokers.journal` keeps them in one SQLite file per host;
* :mod:`.settings` - the options and their defaults;
* :mod:`.retries` - backoff with jitter, ``Retry``, dead letters;
* :mod:`.enqueue` - what the hooked call runs in a deferred plugin's place;
* :mod:`.worker` - claims jobs with a lease and runs them in lanes.
"""

from nova_hookspec.deferred import enqueue as _enqueue  # provides the plugin layer's deferral
from nova_hookspec.deferred.jobs import Delivery, Retry

__all__ = ["Delivery", "Retry"]

_enqueue.install()
