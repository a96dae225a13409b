"""The deferred machinery's options, their defaults, and where they are read.

Each option is read, first source wins, from the environment
(``NOVA_HOOKSPEC_<NAME>``), then the ``[nova_hookspec]`` group of the
service's configuration files, then the default:

========================  ===========================================  ==========
option                    meaning                                      default
========================  ===========================================  ==========
``journal``               the journal file of this host                see below
``journal_sync``          SQLite ``synchronous``: ``full``/``normal``  ``full``
``max_attempts``          runs before a job goes to the dead letters   10
``retry_min_backoff``     seconds before the first retry               1.0
``retry_max_backoff``     longest wait between two runs, seconds       600.0
``lease``                 seconds a claimed job stays with its worker  30.0
``time_limit``            seconds a run may take before it fails       600.0
``transport_url``         the RabbitMQ between hosts (see below)       unset
``broker``                use the service's ``[DEFAULT] transport_url``  false
``broker_lanes``          lane queues per plugin on the broker         8
``broker_prefix``         exchange and queue names' prefix             ``nova_hookspec``
``create_wait``           how long a delete waits for its create, s    600.0
========================  ===========================================  ==========

Across hosts (:mod:`.transport`): with ``transport_url`` set, or ``broker``
true and the service's ``[DEFAULT] transport_url`` set, each host's journal
is an outbox that the worker relays to RabbitMQ; with neither, the journal
is all there is.

Nonsense numbers are refused, with one line naming the setting, its value
and where it came from (:class:`SettingError`): ``lease`` must be at least
1 second (a shorter one ends while the job runs, before the worker renews it,
and the job is claimed and run again alongside itself), ``time_limit`` more
than 0, ``max_attempts`` and ``broker_lanes`` 1 or more, the
backoffs 0 or more with ``retry_min_backoff <= retry_max_backoff``. The
worker refuses to start; a hooked call whose job cannot be written because
of it runs the observer in the call, with an ERROR line saying why
(:mod:`.enqueue`). A plugin's own values are checked the same way
(:mod:`.middleware`).

The journal's default is ``nova_hookspec-journal.sqlite`` under Nova's
``[DEFAULT] state_path``, read from the same configuration files by the
service and by every command given them (``--config-file nova.conf``), else
under ``/var/lib/nova`` (and the current directory when that does not exist).
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from nova_hookspec._plugins import config as _config
from nova_hookspec._plugins.controls import FALSE_WORDS, SETTING_ENVS, TRUE_WORDS

JOURNAL_NAME = "nova_hookspec-journal.sqlite"

def boolean(value: Any) -> bool:
    """A boolean setting's value (the words of the other controls); raises ValueError."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(value)


#: Each setting's type and default, as the ``[nova_hookspec]`` options declare them.
_DECLARED: dict[str, tuple[Any, Any]] = {
    name: ({"str": str, "int": int, "float": float, "bool": boolean}[kind], default)
    for name, kind, default, _help in _config.OPTIONS if name in SETTING_ENVS
}


@dataclass(frozen=True)
class Settings:
    journal: str
    journal_sync: str = _DECLARED["journal_sync"][1]
    max_attempts: int = _DECLARED["max_attempts"][1]
    retry_min_backoff: float = _DECLARED["retry_min_backoff"][1]
    retry_max_backoff: float = _DECLARED["retry_max_backoff"][1]
    lease: float = _DECLARED["lease"][1]
    time_limit: float = _DECLARED["time_limit"][1]
    transport_url: str | None = _DECLARED["transport_url"][1]
    broker: bool = _DECLARED["broker"][1]
    broker_lanes: int = _DECLARED["broker_lanes"][1]
    broker_prefix: str = _DECLARED["broker_prefix"][1]
    create_wait: float = _DECLARED["create_wait"][1]
    #: Where each value not at its default came from (an environment variable, a file).
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:  # the transport URL may hold the broker's password
        shown = {name: getattr(self, name) for name in self.__dataclass_fields__}
        if self.transport_url:
            shown["transport_url"] = "<set>"
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def _state_path() -> str:
    """Nova's ``[DEFAULT] state_path``: from the configuration files in use (a
    command's ``--config-file``, as the service's own), else from the service's
    parsed configuration (Nova's default), else ``/var/lib/nova`` or here."""
    written = _config.raw_option("DEFAULT", "state_path")
    if written and "$" not in written:  # oslo.config's $substitutions: CONF resolves them
        return written
    cfg = sys.modules.get("oslo_config.cfg")
    if cfg is not None:
        try:
            value = cfg.CONF.state_path
            if value:
                return str(value)
        except Exception:  # noqa: BLE001 - no Nova options registered: the default
            pass
    return "/var/lib/nova" if os.path.isdir("/var/lib/nova") else os.getcwd()


class SettingError(ValueError):
    """A setting's value is refused: its message is one line naming the setting,
    the value and where it came from."""


#: The largest value a numeric setting takes: a year in seconds. Past it, a deadline
#: computed from it no longer fits the platform's clocks and timers (time_t,
#: threading.TIMEOUT_MAX), and no real policy asks for more.
MOST = 365 * 24 * 3600.0

#: The numeric settings' rules: (lowest, whether the lowest itself is allowed).
_BOUNDS: dict[str, tuple[float, bool]] = {
    "lease": (1.0, True),  # renewed while it runs: shorter ends before the renewal
    "time_limit": (0.0, False),
    "create_wait": (0.0, True),
    "max_attempts": (1, True),
    "broker_lanes": (1, True),
    "retry_min_backoff": (0.0, True),
    "retry_max_backoff": (0.0, True),
}
#: The numeric settings that count (runs, queues), not seconds.
_COUNTS = frozenset({"max_attempts", "broker_lanes"})
# A malformed one of these in nova.conf is refused here, naming the file, not warned
# about by the configuration reader first.
_config.REFUSED_ELSEWHERE.update(_BOUNDS)


def check(values: dict[str, Any], sources: dict[str, str]) -> None:
    """Refuse nonsense numbers in ``values`` (``sources``: where each came from).

    :raises SettingError: one line naming the first refused setting.
    """
    for name, (low, inclusive) in _BOUNDS.items():
        if name not in values:
            continue
        value = values[name]
        where = sources.get(name, "the default")
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value)):
            raise SettingError(f"setting {name} = {value!r} ({where}) is not a finite number")
        if value < low or (value == low and not inclusive):
            rule = f"{'at least' if inclusive else 'more than'} {low:g}"
            raise SettingError(f"setting {name} = {value!r} ({where}) must be {rule}")
        if value > MOST:
            unit = "" if name in _COUNTS else " (a year, in seconds)"
            raise SettingError(f"setting {name} = {value!r} ({where}) must be at most "
                               f"{MOST:g}{unit}")
    least, most = values.get("retry_min_backoff"), values.get("retry_max_backoff")
    if least is not None and most is not None and least > most:
        raise SettingError(
            f"setting retry_min_backoff = {least!r} "
            f"({sources.get('retry_min_backoff', 'the default')}) is more than "
            f"retry_max_backoff = {most!r} ({sources.get('retry_max_backoff', 'the default')})")


def _conf_problem(name: str, problems: list[str]) -> str | None:
    """The configuration reader's complaint about option ``name``'s value, if any."""
    for problem in problems:
        if problem.startswith(f"option {name} "):
            return problem
    return None


def current() -> Settings:
    """The settings in force now.

    :raises SettingError: a value cannot be read or is nonsense (:func:`check`).
    """
    found: dict[str, Any] = {}
    sources: dict[str, str] = {}
    problems: list[str] = []
    conf = _config.read(problems=problems)
    for name, (kind, _default) in _DECLARED.items():
        variable = SETTING_ENVS[name]
        env = os.environ.get(variable)
        if env:
            try:
                found[name] = kind(env)
            except ValueError:
                shown = "<secret>" if name == "transport_url" else repr(env)
                raise SettingError(f"setting {name}: {variable}={shown} is not a valid "
                                   f"{kind.__name__}") from None
            sources[name] = f"environment variable {variable}"
        elif name in conf:
            found[name] = kind(conf[name][0])
            sources[name] = conf[name][1]
        else:
            problem = _conf_problem(name, problems)
            if problem is not None and name in _BOUNDS:
                raise SettingError(f"setting {problem}")
    found.setdefault("journal", os.path.join(_state_path(), JOURNAL_NAME))
    check({name: found.get(name, _DECLARED[name][1]) for name in _BOUNDS}, sources)
    sync = str(found.get("journal_sync", Settings.journal_sync)).lower()
    if sync not in ("full", "normal"):
        raise SettingError(f"setting journal_sync = {sync!r} "
                           f"({sources.get('journal_sync', 'the default')}) must be 'full' "
                           "or 'normal'")
    found["journal_sync"] = sync
    return Settings(**found, sources=sources)
