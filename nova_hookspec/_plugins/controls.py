"""Operator controls: which installed plugins load, and which run first or last.

Each control has an environment variable, an option in the ``[nova_hookspec]``
group of the service's configuration files (:mod:`nova_hookspec._plugins.config`) and
a :func:`configure` argument; read at each discovery. Environment variables::

    NOVA_HOOKSPEC_DISABLE_AUTOLOAD=1      load no entry point; only what code registers
    NOVA_HOOKSPEC_DISABLE=acme-ipam-hooks,acme_audit:Hook   never load these
    NOVA_HOOKSPEC_PLUGINS=acme-inventory                    load only these
    NOVA_HOOKSPEC_TRYFIRST=acme_ldap:Register               run these first
    NOVA_HOOKSPEC_TRYLAST=create_instance=acme-audit        run these last (here: one hook point)
    NOVA_HOOKSPEC_ORDER=ldap-register,dns,audit              run these in this order
    NOVA_HOOKSPEC_TRACE=1                                    log every hook call's timings

A boolean is true for ``1``, ``true``, ``yes``, ``on`` and false for ``0``,
``false``, ``no``, ``off`` or empty (any case); anything else is reported and
the default kept.

Every list names plugins in any of these forms: the distribution
(``acme-ipam-hooks``), the entry point's name (``inventory``), its value
(``acme_audit:Hook``, or a module-only value ``acme_inventory``), or the
registered plugin name; names without ``:`` compare as PEP 503 does (case,
``-``, ``_`` and ``.`` do not matter). ``TRYFIRST``/``TRYLAST`` items may be
prefixed with a hook point name (``create_instance=...``; spaces allowed).
A name that matches no installed plugin is warned about once, with the
nearest installed name. Precedence, per control: :func:`configure`, the
environment, the configuration files, the default.

Operator mistakes are reported, each once per discovery, as warnings that
``nova-hookspec check`` counts (it then exits 1): a value that is no
boolean, a hook-point prefix that names no hook point (a legacy entry-point
name such as ``build_instance=`` is accepted for its point), a
``NOVA_HOOKSPEC_*`` variable that nova_hookspec does not know (variables
``NOVA_HOOKSPEC_<PLUGIN>_*`` of an installed plugin distribution
``nova-hookspec-<plugin>`` are that plugin's), and, in the configuration
files, an unknown option or a misspelled ``[nova_hookspec]`` section
(:func:`nova_hookspec._plugins.config.file_problems`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nova_hookspec._plugins.validation import nearest
from nova_hookspec._seams.metadata import normalize

if TYPE_CHECKING:
    from nova_hookspec._plugins.info import PluginInfo

log = logging.getLogger("nova_hookspec")

AUTOLOAD_ENV = "NOVA_HOOKSPEC_DISABLE_AUTOLOAD"
DISABLE_ENV = "NOVA_HOOKSPEC_DISABLE"
ALLOW_ENV = "NOVA_HOOKSPEC_PLUGINS"
TRYFIRST_ENV = "NOVA_HOOKSPEC_TRYFIRST"
TRYLAST_ENV = "NOVA_HOOKSPEC_TRYLAST"
ORDER_ENV = "NOVA_HOOKSPEC_ORDER"
TRACE_ENV = "NOVA_HOOKSPEC_TRACE"
DEFERRED_ENV = "NOVA_HOOKSPEC_DEFERRED"

#: The deferred machinery's settings (:mod:`nova_hookspec.deferred.settings`): option -> variable.
SETTING_ENVS = {
    "journal": "NOVA_HOOKSPEC_JOURNAL",
    "journal_sync": "NOVA_HOOKSPEC_JOURNAL_SYNC",
    "max_attempts": "NOVA_HOOKSPEC_MAX_ATTEMPTS",
    "retry_min_backoff": "NOVA_HOOKSPEC_RETRY_MIN_BACKOFF",
    "retry_max_backoff": "NOVA_HOOKSPEC_RETRY_MAX_BACKOFF",
    "lease": "NOVA_HOOKSPEC_LEASE",
    "time_limit": "NOVA_HOOKSPEC_TIME_LIMIT",
    "transport_url": "NOVA_HOOKSPEC_TRANSPORT_URL",
    "broker": "NOVA_HOOKSPEC_BROKER",
    "broker_lanes": "NOVA_HOOKSPEC_BROKER_LANES",
    "broker_prefix": "NOVA_HOOKSPEC_BROKER_PREFIX",
    "create_wait": "NOVA_HOOKSPEC_CREATE_WAIT",
}

#: How a boolean reads, in the environment and in the configuration files.
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


def parse_bool(text: str | None, default: bool, source: str,
               problems: list[str] | None = None) -> bool:
    """A boolean control's value; an unknown word is reported (logged, and added
    to ``problems``) and ``default`` kept."""
    if text is None:
        return default
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    message = (f"{source}={text!r} is not a boolean (use one of 1/true/yes/on or "
               f"0/false/no/off); keeping the default, {default}")
    log.warning("%s", message)
    if problems is not None:
        problems.append(message)
    return default


def known_point(hook: str) -> str | None:
    """The hook point a ``HOOK=`` prefix names (aliases such as ``build_instance``
    resolved), or ``None`` if it names none declared."""
    from nova_hookspec._spec import points as _points

    point = _points.lookup(hook)
    return point.name if point is not None else None


def _canonical_prefixes(items: tuple[str, ...]) -> tuple[str, ...]:
    """``HOOK=NAME`` items with a legacy alias prefix rewritten to its point's name."""
    out = []
    for item in items:
        hook, sep, name = item.rpartition("=")
        point = known_point(hook.strip()) if sep and hook.strip() else None
        out.append(f"{point}={name.strip()}" if point else item)
    return tuple(out)


def name_key(name: str) -> str:
    """How a plugin name given by an operator is compared."""
    name = name.strip()
    return name if ":" in name else normalize(name)


def plugin_keys(info: PluginInfo) -> frozenset[str]:
    """Every form an operator may use to name the plugin of ``info``."""
    keys = {info.value, info.name, name_key(info.value), name_key(info.hook)}
    if info.distribution:
        keys.add(normalize(info.distribution))
    return frozenset(keys)


def names(text: str) -> tuple[str, ...]:
    """The names in a comma-separated list (blank items dropped)."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


@dataclass(frozen=True)
class Controls:
    """The controls in force for one discovery."""

    autoload: bool = True
    disable: tuple[str, ...] = ()
    allow: tuple[str, ...] | None = None
    tryfirst: tuple[str, ...] = ()
    trylast: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    trace: bool = False
    deferred: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)
    #: Mistakes found while reading the controls (bad booleans, unknown options).
    problems: tuple[str, ...] = ()

    def order_chains(self, point: str) -> dict[str, list[list[str]]]:
        """The operator's order for ``point``: its own chain and the chain for all points."""
        own, every = [], []
        for item in self.order:
            hook, _, name = item.rpartition("=")
            if not hook.strip():
                every.append(name.strip())
            elif hook.strip() == point:
                own.append(name.strip())
        return {"operator order for the hook point": [own], "operator order": [every]}

    def refusal(self, info: PluginInfo) -> str | None:
        """Why a plugin may not load (``None``: it may)."""
        if not self.autoload:
            return f"entry points are not loaded ({self.sources.get('autoload', AUTOLOAD_ENV)})"
        if not self.disable and self.allow is None:
            return None
        keys = plugin_keys(info)
        if keys & {name_key(n) for n in self.disable}:
            return f"disabled ({self.sources.get('disable', DISABLE_ENV)})"
        if self.allow is not None and not keys & {name_key(n) for n in self.allow}:
            return f"not in the allow list ({self.sources.get('allow', ALLOW_ENV)})"
        return None

    def placement(self, info: PluginInfo) -> dict[str, str]:
        """Where the operator puts this plugin: hook point (``*`` for all) -> tryfirst/trylast."""
        if not self.tryfirst and not self.trylast:
            return {}
        keys = plugin_keys(info)
        marks: dict[str, set[str]] = {}
        for mark, items in (("tryfirst", self.tryfirst), ("trylast", self.trylast)):
            for item in items:
                hook, _, name = item.rpartition("=")
                if name_key(name) in keys:
                    marks.setdefault(hook.strip() or "*", set()).add(mark)
        placed = {}
        for hook, found in marks.items():
            if len(found) > 1:
                log.error("plugin %r is listed in both %s and %s%s: neither applies",
                          info.name, TRYFIRST_ENV, TRYLAST_ENV,
                          "" if hook == "*" else f" for hook point {hook!r}")
                continue
            placed[hook] = found.pop()
        return placed

    def named(self) -> dict[str, tuple[str, ...]]:
        """Every plugin name the controls use, by control."""

        def strip(items: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(item.rpartition("=")[2].strip() for item in items)

        return {
            self.sources.get("disable", DISABLE_ENV): self.disable,
            self.sources.get("allow", ALLOW_ENV): self.allow or (),
            self.sources.get("tryfirst", TRYFIRST_ENV): strip(self.tryfirst),
            self.sources.get("trylast", TRYLAST_ENV): strip(self.trylast),
            self.sources.get("order", ORDER_ENV): strip(self.order),
            self.sources.get("deferred", DEFERRED_ENV): strip(self.deferred),
        }

    def defers(self, keys: frozenset[str], point: str) -> bool:
        """Whether the operator defers the post observers of the plugin known by
        ``keys`` on hook point ``point``."""
        for item in self.deferred:
            hook, _, name = item.rpartition("=")
            if name_key(name) in keys and hook.strip() in ("", point):
                return True
        return False


def review(controls: Controls, infos: Iterable[PluginInfo]) -> list[str]:
    """Every operator mistake in ``controls``, each logged once: the problems found
    while reading them, hook-point prefixes naming no point, unknown
    ``NOVA_HOOKSPEC_*`` variables and names matching no installed plugin."""
    infos = list(infos)
    from nova_hookspec._plugins import config as _config

    every_key = set().union(*(plugin_keys(i) for i in infos))
    names = sorted({normalize(i.distribution) for i in infos if i.distribution}
                   | {i.value for i in infos})
    return [*controls.problems, *_unknown_points(controls), *_unknown_variables(infos),
            *warn_unmatched(controls, infos),
            *_config.unknown_plugin_sections(every_key, names)]


def _unknown_points(controls: Controls) -> list[str]:
    from nova_hookspec._spec import points as _points

    warnings = []
    for key in ("tryfirst", "trylast", "order", "deferred"):
        for item in getattr(controls, key):
            hook, sep, _name = item.rpartition("=")
            hook = hook.strip()
            if not sep or not hook or known_point(hook):
                continue
            candidates = [n for p in _points.points() for n in (p.name, *p.aliases)]
            near = nearest(hook, candidates)
            hint = f"; did you mean {near!r}?" if near else ""
            message = (f"{controls.sources.get(key, SOURCES[key][0])} names hook point "
                       f"{hook!r} in {item!r}, which is no hook point{hint}")
            log.warning("%s", message)
            warnings.append(message)
    return warnings


def _unknown_variables(infos: list[PluginInfo]) -> list[str]:
    known = {env for env, _option in SOURCES.values()} | set(SETTING_ENVS.values())
    plugin_prefixes = tuple(
        normalize(i.distribution).upper().replace("-", "_") + "_"
        for i in infos if i.distribution and normalize(i.distribution).startswith("nova-hookspec-"))
    warnings = []
    for variable in sorted(os.environ):
        if not variable.startswith("NOVA_HOOKSPEC_") or variable in known:
            continue
        if plugin_prefixes and variable.startswith(plugin_prefixes):
            continue
        near = nearest(variable, sorted(known))
        hint = f"; did you mean {near!r}?" if near else ""
        message = f"environment variable {variable} is not one of nova_hookspec's{hint}"
        log.warning("%s", message)
        warnings.append(message)
    return warnings


def warn_unmatched(controls: Controls, infos: Iterable[PluginInfo]) -> list[str]:
    """Warn once about each name in the controls that matches no installed plugin."""
    if not any(controls.named().values()):
        return []
    infos = list(infos)
    every_key = set().union(*(plugin_keys(i) for i in infos)) if infos else set()
    candidates = sorted({i.distribution for i in infos if i.distribution} | {i.value for i in infos})
    warnings = []
    for source, items in controls.named().items():
        for item in items:
            if name_key(item) in every_key:
                continue
            near = nearest(item, candidates)
            hint = f"; did you mean {near!r}?" if near else ""
            message = f"{source} names {item!r}, which matches no installed plugin{hint}"
            log.warning("%s", message)
            warnings.append(message)
    return warnings


_api: dict[str, Any] = {}

#: control -> (environment variable, option in nova.conf's [nova_hookspec]).
SOURCES = {
    "autoload": (AUTOLOAD_ENV, "autoload"),
    "disable": (DISABLE_ENV, "disable"),
    "allow": (ALLOW_ENV, "plugins"),
    "tryfirst": (TRYFIRST_ENV, "tryfirst"),
    "trylast": (TRYLAST_ENV, "trylast"),
    "order": (ORDER_ENV, "order"),
    "trace": (TRACE_ENV, "trace"),
    "deferred": (DEFERRED_ENV, "deferred"),
}


def configure(
    *,
    autoload: bool | None = None,
    disable: Iterable[str] | str | None = None,
    allow: Iterable[str] | str | None = None,
    tryfirst: Iterable[str] | str | None = None,
    trylast: Iterable[str] | str | None = None,
    order: Iterable[str] | str | None = None,
    trace: bool | None = None,
    deferred: Iterable[str] | str | None = None,
) -> None:
    """Set the operator controls in code (they win over the environment and nova.conf).

    Takes effect at the next discovery (call :func:`nova_hookspec.reset` to
    rediscover now). Passing ``None`` for a control leaves it to the
    environment and the configuration files. A list control takes names, or
    one string of comma-separated names (``"acme-a, acme-b"``).

    :param autoload: ``False`` loads no entry point.
    :param disable: plugins never to load.
    :param allow: if given, only these load.
    :param tryfirst: plugins (optionally ``hook=plugin``) that run first.
    :param trylast: plugins (optionally ``hook=plugin``) that run last.
    :param order: plugins in the order they run (optionally ``hook=plugin``).
    :param trace: log every hook call with per-plugin durations.
    :param deferred: plugins (optionally ``hook=plugin``) whose post observers a
        worker runs (:mod:`nova_hookspec.deferred`).
    """
    given = {"autoload": autoload, "disable": disable, "allow": allow, "tryfirst": tryfirst,
             "trylast": trylast, "order": order, "trace": trace, "deferred": deferred}
    _api.clear()
    for key, value in given.items():
        if isinstance(value, str):  # one string: a comma-separated list, as in the environment
            _api[key] = names(value)
        elif value is not None:
            _api[key] = value if isinstance(value, bool) else tuple(str(v).strip() for v in value)


def current(config: Mapping[str, tuple[Any, str]] | None = None) -> Controls:
    """The controls in force now.

    For each control the first source that sets it wins: :func:`configure`,
    then the environment, then the ``[nova_hookspec]`` group of the service's
    configuration files (``config``, from :func:`nova_hookspec._plugins.config.read`;
    read here when not given), then the default.
    """
    problems: list[str] = []
    if config is None:
        from nova_hookspec._plugins import config as _config

        config = _config.read(problems=problems)
    env: Mapping[str, str] = os.environ
    sources: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key, (env_name, option) in SOURCES.items():
        if key == "allow" and env.get(env_name) is not None and not names(env[env_name]):
            # An empty allow list would fail open: it is ignored, nova.conf's still applies.
            message = (f"{env_name} names no plugin: ignored, the configuration files' "
                       f"allow list applies if they have one (to load no entry point, set "
                       f"{AUTOLOAD_ENV}=1 or autoload = false)")
            log.warning("%s", message)
            problems.append(message)
            env = {k: v for k, v in env.items() if k != env_name}
        if key in _api:
            values[key], sources[key] = _api[key], f"configure({key}=...)"
        elif env.get(env_name) is not None:
            sources[key] = env_name
            if key == "autoload":
                values[key] = not parse_bool(env[env_name], False, env_name, problems)
            elif key == "trace":
                values[key] = parse_bool(env[env_name], False, env_name, problems)
            else:
                values[key] = names(env[env_name])
        elif option in config:
            value, sources[key] = config[option]
            values[key] = value if isinstance(value, bool) else tuple(
                str(v).strip() for v in value if str(v).strip())
    if "allow" in values and not values["allow"]:
        message = (f"{sources['allow']} names no plugin: ignored (to load no entry point, "
                   f"set {AUTOLOAD_ENV}=1 or autoload = false)")
        log.warning("%s", message)
        problems.append(message)
        del values["allow"]
    for key in ("tryfirst", "trylast", "order", "deferred"):
        if key in values:
            values[key] = _canonical_prefixes(values[key])
    return Controls(sources=sources, problems=tuple(problems), **values)
