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

The journal's default is ``nova_hookspec-journal.sqlite`` under Nova's
``state_path`` when the service parsed its configuration, else under
``/var/lib/nova`` (and the current directory when that does not exist).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
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
    transport_url: str | None = _DECLARED["transport_url"][1]
    broker: bool = _DECLARED["broker"][1]
    broker_lanes: int = _DECLARED["broker_lanes"][1]
    broker_prefix: str = _DECLARED["broker_prefix"][1]
    create_wait: float = _DECLARED["create_wait"][1]

    def __repr__(self) -> str:  # the transport URL may hold the broker's password
        shown = {name: getattr(self, name) for name in self.__dataclass_fields__}
        if self.transport_url:
            shown["transport_url"] = "<set>"
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def _state_path() -> str:
    cfg = sys.modules.get("oslo_config.cfg")
    if cfg is not None:
        try:
            value = cfg.CONF.state_path
            if value:
                return str(value)
        except Exception:  # noqa: BLE001 - no Nova options registered: the default
            pass
    return "/var/lib/nova" if os.path.isdir("/var/lib/nova") else os.getcwd()


def current() -> Settings:
    """The settings in force now."""
    found: dict[str, Any] = {}
    conf = _config.read()
    for name, (kind, _default) in _DECLARED.items():
        variable = SETTING_ENVS[name]
        env = os.environ.get(variable)
        if env:
            try:
                found[name] = kind(env)
            except ValueError:
                shown = "<secret>" if name == "transport_url" else repr(env)
                raise ValueError(f"{variable}={shown} is not a valid {kind.__name__}") from None
        elif name in conf:
            found[name] = kind(conf[name][0])
    found.setdefault("journal", os.path.join(_state_path(), JOURNAL_NAME))
    if found.get("broker_lanes", 1) < 1:
        raise ValueError(f"broker_lanes must be 1 or more, not {found['broker_lanes']}")
    sync = str(found.get("journal_sync", Settings.journal_sync)).lower()
    if sync not in ("full", "normal"):
        raise ValueError(f"journal_sync must be 'full' or 'normal', not {sync!r}")
    found["journal_sync"] = sync
    return Settings(**found)
