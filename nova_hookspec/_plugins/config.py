"""The ``[nova_hookspec]`` group of a Nova service's own configuration files.

When oslo.config is importable (always inside Nova; otherwise the
``nova-hookspec[oslo]`` extra), every operator control can be set in
``nova.conf`` (or any file the service reads with ``--config-file`` /
``--config-dir``)::

    [nova_hookspec]
    order = ldap-register, dns, audit
    disable = acme-legacy-hooks
    trace = false

The options are registered on oslo.config's global ``CONF`` when first read,
which works after Nova parsed its command line (oslo.config reads late
options from the parsed files). They are read at discovery; a process whose
configuration was not parsed (no Nova service) reads none, and
``nova-hookspec list/check/demo --config-file F`` parse the files given.
``oslo-config-generator --namespace nova_hookspec`` prints a commented
sample (:func:`list_opts`, the ``oslo.config.opts`` entry point).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Sequence
from typing import Any

log = logging.getLogger("nova_hookspec")

GROUP = "nova_hookspec"

#: (option, kind, default, help): kind is "bool", "list", "str", "int" or "float".
OPTIONS: tuple[tuple[str, str, Any, str], ...] = (
    ("autoload", "bool", True,
     "Load plugins from entry points (the nova_hookspec and nova.hooks groups). False "
     "loads none: only plugins registered in code run."),
    ("disable", "list", [],
     "Plugins never to load: distribution names, entry-point names, entry-point values "
     "(module:attr or a module) or registered plugin names."),
    ("plugins", "list", None,
     "If set, load only these plugins (same name forms as 'disable'). Unset: load every "
     "installed plugin."),
    ("order", "list", [],
     "The order in which these plugins run relative to each other, in every phase "
     "(e.g. 'ldap-register, dns, audit'). An item 'HOOK=NAME' (e.g. "
     "'create_instance=dns') orders NAME on that hook point only; such a per-point "
     "order wins over the order for all points, which wins over plugins' own "
     "before/after declarations. Plugins not named keep their place."),
    ("tryfirst", "list", [],
     "Plugins whose implementations run first, whatever their own marks say "
     "('HOOK=NAME' for one hook point)."),
    ("trylast", "list", [],
     "Plugins whose implementations run last, whatever their own marks say "
     "('HOOK=NAME' for one hook point)."),
    ("trace", "bool", False,
     "Log every hook call with per-plugin durations (logger nova_hookspec.trace, INFO)."),
    ("deferred", "list", [],
     "Plugins whose post observers are deferred: the hooked call writes a job to the "
     "journal and a worker (nova-hookspec worker) runs it ('HOOK=NAME' for one hook "
     "point; legacy classes' post methods too)."),
    ("journal", "str", None,
     "The deferred jobs' journal of this host, shared by every Nova service on it "
     "(default: nova_hookspec-journal.sqlite under Nova's state_path, else under "
     "/var/lib/nova)."),
    ("journal_sync", "str", "full",
     "SQLite's synchronous setting for the journal: 'full' (a job survives a power "
     "loss once the call returned) or 'normal' (faster; the last jobs may be lost on a "
     "power loss, never on a process crash)."),
    ("max_attempts", "int", 10,
     "Runs of a deferred job before it goes to the dead letters."),
    ("retry_min_backoff", "float", 1.0,
     "Seconds before the first retry of a failed deferred job; doubled each retry, "
     "with jitter."),
    ("retry_max_backoff", "float", 600.0,
     "Longest wait between two runs of a failed deferred job, in seconds."),
    ("lease", "float", 30.0,
     "Seconds a worker holds a deferred job it runs (renewed while it runs); a killed "
     "worker's jobs run again once their lease is over."),
    ("time_limit", "float", 600.0,
     "Seconds a run of a deferred job may take: a run past it fails (retried or dead as "
     "any failure) and its lane moves on to the next job. Per plugin: a "
     "[nova_hookspec:PLUGIN] section sets max_attempts, retry_min_backoff, "
     "retry_max_backoff and time_limit for one plugin."),
    ("transport_url", "str", None,
     "The RabbitMQ that carries deferred jobs between hosts (an oslo.messaging "
     "transport URL, e.g. rabbit://user:pass@host:5672/vhost). Unset: the service's own "
     "[DEFAULT] transport_url when 'broker' is true, else the one-host journal only."),
    ("broker", "bool", False,
     "Carry deferred jobs between hosts on the service's own RabbitMQ ([DEFAULT] "
     "transport_url): each host's journal becomes an outbox that the worker relays."),
    ("broker_lanes", "int", 8,
     "Lane queues per deferred plugin on the broker: one instance's jobs of one plugin "
     "always go to the same lane, and each lane has one consumer at a time."),
    ("broker_prefix", "str", "nova_hookspec",
     "Prefix of the exchange and queue names on the broker."),
    ("create_wait", "float", 600.0,
     "Seconds after an instance's created_at during which its deferred delete job waits "
     "for the plugin's create job of the same instance (a slow or stopped relay on the "
     "API host); after that the delete runs without it."),
)


def _cfg() -> Any:
    try:
        from oslo_config import cfg
    except ImportError:
        return None
    return cfg


def _cfg_if_imported() -> Any:
    """oslo.config's ``cfg`` if something imported it already (a service that
    parsed its configuration did): reading costs no import otherwise."""
    return sys.modules.get("oslo_config.cfg")


def oslo_options() -> list[Any]:
    """The options as oslo.config ``Opt`` objects."""
    cfg = _cfg()
    if cfg is None:
        raise ImportError("oslo.config is not installed (pip install 'nova-hookspec[oslo]')")
    made = []
    for name, kind, default, help_text in OPTIONS:
        kinds = {"bool": cfg.BoolOpt, "list": cfg.ListOpt, "str": cfg.StrOpt,
                 "int": cfg.IntOpt, "float": cfg.FloatOpt}
        made.append(kinds[kind](name, default=default, help=help_text))
    return made


def list_opts() -> list[tuple[str, list[Any]]]:
    """For ``oslo-config-generator --namespace nova_hookspec``."""
    return [(GROUP, oslo_options())]


def _registered(conf: Any) -> None:
    cfg = _cfg()
    with contextlib.suppress(cfg.DuplicateOptError):  # registered already: these very options
        conf.register_opts(oslo_options(), group=GROUP)


def parsed_files(conf: Any) -> Sequence[str] | None:
    """The config files ``conf`` was parsed with, or ``None`` if it was not parsed."""
    try:
        files = list(conf.config_file or [])
        directories = list(conf.config_dir or []) if hasattr(conf, "config_dir") else []
    except Exception:  # noqa: BLE001 - NoSuchOptError before parsing, on any release
        return None
    return [*files, *(d if isinstance(d, str) else str(d) for d in directories)]


_given: list[Any] = []


def use_files(files: Sequence[str], directories: Sequence[str] = ()) -> None:
    """Read the controls from these files from now on (the CLI's ``--config-file``)."""
    _given[:] = [parse(files, directories)]


#: Options whose reader refuses a malformed value itself, naming the file (the
#: deferred settings register theirs): no warning here, the problem is handed on.
REFUSED_ELSEWHERE: set[str] = set()


def read(conf: Any = None, problems: list[str] | None = None) -> dict[str, tuple[Any, str]]:
    """Each control set in the ``[nova_hookspec]`` group: ``{name: (value, source)}``.

    Empty when oslo.config is not imported or the configuration was not
    parsed. Only options the files set are returned (defaults are not).
    Mistakes in the files (:func:`file_problems`, values that cannot be read)
    are logged and added to ``problems``.
    """
    problems = [] if problems is None else problems
    cfg = _cfg() if _given or conf is not None else _cfg_if_imported()
    if cfg is None:
        return {}
    if conf is None:
        conf = _given[0] if _given else cfg.CONF
    files = parsed_files(conf)
    if not files:
        return {}
    _registered(conf)
    found: dict[str, tuple[Any, str]] = {}
    where = f"[{GROUP}] in {', '.join(files)}"
    group = getattr(conf, GROUP)
    sections = _sections(cfg, files)
    for message in file_problems(sections):
        _warn_once(message)
        problems.append(message)
    for name, kind, default, _help in OPTIONS:
        try:
            value = getattr(group, name)
        except Exception:  # noqa: BLE001 - a bad value in the file: say so, use the default
            raw = [v for _f, values in sections.get(GROUP, {}).get(name, []) for v in values]
            shown = repr(raw[-1]) if raw else "its value"
            expected = " (true/false, yes/no, on/off, 1/0)" if kind == "bool" else ""
            message = f"option {name} {where}: {shown} is not a valid {kind}{expected}"
            if name in REFUSED_ELSEWHERE:  # its reader refuses it in one line: not said twice
                problems.append(message)
                continue
            message += f"; keeping the default, {default}"
            _warn_once(message)
            problems.append(message)
            continue
        if value != default:
            found[name] = (value, f"{name} {where}")
    return found


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    """Log a mistake in the files once per process: they are read by discovery, by
    the deferred settings and by ``check``, and say the same each time."""
    if message not in _warned:
        _warned.add(message)
        log.warning("%s", message)


def _sections(cfg: Any, paths: Sequence[str]) -> dict[str, dict[str, list[tuple[str, list[str]]]]]:
    """``{section: {option: [(file, values)]}}`` of the files (folders: their
    ``*.conf``), read with oslo.config's own parser."""
    import glob
    import os

    files: list[str] = []
    for path in paths:
        files.extend(sorted(glob.glob(os.path.join(path, "*.conf"))) if os.path.isdir(path)
                     else [path])
    merged: dict[str, dict[str, list[tuple[str, list[str]]]]] = {}
    for path in files:
        sections: dict[str, dict[str, list[str]]] = {}
        try:
            cfg.ConfigParser(path, sections).parse()
        except Exception:  # noqa: BLE001 - oslo.config already refused or will refuse it
            continue
        for section, options in sections.items():
            for option, values in options.items():
                merged.setdefault(section, {}).setdefault(option, []).append((path, values))
    return merged


def raw_option(section: str, option: str) -> str | None:
    """The last value of ``option`` in ``[section]`` of the configuration files in
    use (the CLI's ``--config-file`` or the service's), unparsed; ``None`` if unset.

    For options of other projects' groups (``[DEFAULT] transport_url``,
    ``[oslo_messaging_rabbit] ssl``) that are read without registering them."""
    found = raw_option_source(section, option)
    return found[0] if found is not None else None


def _sections_in_use() -> dict[str, dict[str, list[tuple[str, list[str]]]]]:
    """:func:`_sections` of the configuration files in use (none: empty)."""
    cfg = _cfg() if _given else _cfg_if_imported()
    if cfg is None:
        return {}
    files = parsed_files(_given[0] if _given else cfg.CONF)
    return _sections(cfg, files) if files else {}


def raw_option_source(section: str, option: str) -> tuple[str, str] | None:
    """:func:`raw_option`'s value and the file that set it last, or ``None``."""
    places = _sections_in_use().get(section, {}).get(option, [])
    values = [(value, file) for file, found in places for value in found]
    return values[-1] if values else None


def file_problems(sections: dict[str, dict[str, list[tuple[str, list[str]]]]]) -> list[str]:
    """Unknown options in ``[nova_hookspec]`` and sections that look like a
    misspelling of it, with the nearest valid name."""
    from nova_hookspec._plugins.validation import nearest
    from nova_hookspec._spec.markers import POLICY_OPTIONS

    known = [name for name, *_rest in OPTIONS]
    problems = []
    for section, options in sections.items():
        if section == GROUP:
            for option, places in options.items():
                if option not in known:
                    near = nearest(option, known)
                    hint = f"; did you mean {near!r}?" if near else ""
                    problems.append(f"unknown option {option!r} in [{GROUP}] of "
                                    f"{', '.join(f for f, _ in places)}{hint}")
        elif section.startswith(GROUP + ":"):  # a plugin's own policies (deferred.middleware)
            for option, places in options.items():
                if option not in POLICY_OPTIONS:
                    near = nearest(option, POLICY_OPTIONS)
                    hint = (f"; did you mean {near!r}?" if near else
                            f"; a plugin's section takes {', '.join(POLICY_OPTIONS)}")
                    problems.append(f"unknown option {option!r} in [{section}] of "
                                    f"{', '.join(f for f, _ in places)}{hint}")
        elif nearest(section.lower().replace("-", "_"), [GROUP]):
            files = sorted({f for places in options.values() for f, _ in places})
            problems.append(f"section [{section}] in {', '.join(files) or 'a file'} is not "
                            f"read by nova_hookspec; did you mean [{GROUP}]?")
    return problems


def unknown_plugin_sections(keys: set[str], candidates: Sequence[str]) -> list[str]:
    """``[nova_hookspec:PLUGIN]`` sections of the files in use whose ``PLUGIN`` is no
    name of an installed plugin (``keys``: every name each answers to), each logged
    once, with the nearest of ``candidates``: a misspelt plugin name would leave its
    time limit and retries unset without a word."""
    from nova_hookspec._plugins.validation import nearest

    problems = []
    for section, options in sorted(_sections_in_use().items()):
        if not section.startswith(GROUP + ":"):
            continue
        name = section.split(":", 1)[1]
        if name in keys:
            continue
        near = nearest(name, candidates)
        hint = f"; did you mean [{GROUP}:{near}]?" if near else ""
        files = sorted({f for places in options.values() for f, _ in places})
        message = (f"section [{section}] in {', '.join(files) or 'a file'} names no "
                   f"installed plugin: its values apply to none{hint}")
        _warn_once(message)
        problems.append(message)
    return problems


class ConfigError(ValueError):
    """A configuration file or folder given to the CLI cannot be read."""


def parse(files: Sequence[str], directories: Sequence[str] = ()) -> Any:
    """A fresh ``ConfigOpts`` parsed from ``files`` (for the CLI's ``--config-file``).

    :raises ConfigError: a file or folder is missing or cannot be parsed.
    """
    cfg = _cfg()
    if cfg is None:
        raise ImportError("--config-file needs oslo.config (pip install 'nova-hookspec[oslo]')")
    conf = cfg.ConfigOpts()
    args = [arg for f in files for arg in ("--config-file", f)]
    args += [arg for d in directories for arg in ("--config-dir", d)]
    try:
        conf(args, project="nova", default_config_files=[], default_config_dirs=[])
    except cfg.Error as exc:
        raise ConfigError(_config_error_text(exc)) from None
    return conf


def _config_error_text(exc: Exception) -> str:
    """oslo.config's message, without the objects some releases put in it."""
    for attr in ("config_files", "config_dir"):
        value = getattr(exc, attr, None)
        if value:
            names = value if isinstance(value, str) else ", ".join(map(str, value))
            kind = "file(s)" if attr == "config_files" else "folder"
            return f"configuration {kind} not found or unreadable: {names}"
    return str(exc)
