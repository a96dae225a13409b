"""The policies a deferred job runs under, one module each (as dramatiq's middleware).

* :mod:`.retries` - backoff with jitter, ``Retry``, ``FatalHookException``;
* :mod:`.time_limit` - a run past its limit fails; its lane moves on;
* :mod:`.overrides` - which values apply to a plugin: the operator's
  ``[nova_hookspec:PLUGIN]``, the plugin's ``@hookimpl(...)``, the settings.

:mod:`nova_hookspec.deferred.execution` applies them to one run, for the
one-host worker and the broker's lane runners alike.
"""
