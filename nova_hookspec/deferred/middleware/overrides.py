"""Which run policy values apply to one deferred observer, and where each came from.

Four values may be set per plugin: ``max_attempts``, ``retry_min_backoff``,
``retry_max_backoff`` and ``time_limit``. For each, first source wins:

1. the operator, in a ``[nova_hookspec:PLUGIN]`` section of the service's
   configuration files (``PLUGIN``: any name the ``deferred`` and
   ``disable`` controls accept for it, e.g. its distribution name)::

       [nova_hookspec:acme-dns]
       time_limit = 60
       max_attempts = 3

2. the plugin, in its marker: ``@hookimpl(deferred=True, time_limit=60)``;
3. the settings of every plugin (``[nova_hookspec]`` or
   ``NOVA_HOOKSPEC_<NAME>``, :mod:`nova_hookspec.deferred.settings`);
4. the defaults (:mod:`.retries`, :mod:`.time_limit`).

A plugin's values are refused as the settings are (one line naming the
value, the plugin and where it came from): the worker does not start.
``nova-hookspec check`` shows what applies to each deferred plugin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nova_hookspec._plugins import config as _config
from nova_hookspec._plugins.deferral import Deferred
from nova_hookspec._spec.markers import POLICY_OPTIONS
from nova_hookspec.deferred.settings import SettingError, Settings, check

_KINDS: dict[str, type] = {"max_attempts": int, "retry_min_backoff": float,
                           "retry_max_backoff": float, "time_limit": float}


@dataclass(frozen=True)
class Policy:
    """The values one deferred observer's runs follow, and where each came from."""

    max_attempts: int
    retry_min_backoff: float
    retry_max_backoff: float
    time_limit: float
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    def shown(self) -> dict[str, dict[str, Any]]:
        """``{name: {"value": ..., "source": ...}}`` (for ``check``)."""
        return {name: {"value": getattr(self, name), "source": self.sources.get(name, "")}
                for name in POLICY_OPTIONS}


def _operator(deferred: Deferred, name: str) -> tuple[Any, str] | None:
    """The operator's value of ``name`` for the plugin of ``deferred``, and its source."""
    for key in sorted(deferred.keys):
        section = f"{_config.GROUP}:{key}"
        found = _config.raw_option_source(section, name)
        if found is not None:
            value, file = found
            where = f"[{section}] in {file}"
            try:
                return _KINDS[name](value.strip()), where
            except ValueError:
                raise SettingError(f"setting {name} = {value!r} ({where}) is not a valid "
                                   f"{_KINDS[name].__name__}") from None
    return None


def resolve(deferred: Deferred, settings: Settings) -> Policy:
    """The policy of ``deferred``'s runs.

    :raises SettingError: a value is nonsense (:func:`.settings.check`).
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in POLICY_OPTIONS:
        operator = _operator(deferred, name)
        if operator is not None:
            values[name], sources[name] = operator
        elif name in deferred.policy:
            values[name] = deferred.policy[name]
            sources[name] = f"@hookimpl of plugin {deferred.plugin!r}, {deferred.hook}"
        else:
            values[name] = getattr(settings, name)
            sources[name] = settings.sources.get(name, "the default")
    check(values, sources)
    return Policy(sources=sources, **values)


class Policies:
    """The policy of each deferred observer of a worker, worked out once each."""

    def __init__(self, deferred: dict[tuple[str, str], Deferred], settings: Settings) -> None:
        self.deferred = deferred
        self.settings = settings
        self._found: dict[tuple[str, str], Policy] = {}

    def of(self, plugin: str, hook: str) -> Policy:
        key = (plugin, hook)
        if key not in self._found:
            record = self.deferred.get(key)
            if record is None:  # not deferred here: the run fails anyway, under the settings
                s = self.settings
                return Policy(s.max_attempts, s.retry_min_backoff, s.retry_max_backoff,
                              s.time_limit)
            self._found[key] = resolve(record, self.settings)
        return self._found[key]

    def check_all(self) -> None:
        """Work out every policy now (the worker's start).

        :raises SettingError: one is nonsense.
        """
        for plugin, hook in sorted(self.deferred):
            self.of(plugin, hook)
