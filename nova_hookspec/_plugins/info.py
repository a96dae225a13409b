"""What is known of a discovered plugin, and what a discovery did.

Plain records: discovery fills them in (:mod:`.discovery`), the manager keeps
them per registered name, the operator's controls match names against them
(:mod:`.controls`), and ``list``/``check`` and the service summary read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = ["DiscoveryReport", "Loader", "PluginInfo", "PluginKind", "Problem", "describe"]

PluginKind = Literal["typed", "legacy"]


@dataclass(frozen=True)
class PluginInfo:
    """Where a discovered plugin came from.

    :param name: the name it is registered under.
    :param kind: ``"typed"`` or ``"legacy"``.
    :param group: its entry-point group.
    :param entry_point: ``name = module:attr`` as declared.
    :param value: ``module:attr``.
    :param distribution: the distribution that declares it, if known.
    :param version: that distribution's version, if known.
    :param position: its place in discovery order (0 first).
    """

    name: str
    kind: PluginKind
    group: str
    entry_point: str
    value: str
    distribution: str | None
    version: str | None
    position: int

    @property
    def hook(self) -> str:
        """The entry point's name: the hook name of a legacy class."""
        return self.entry_point.split(" = ", 1)[0]


@dataclass(frozen=True)
class Problem:
    """A plugin that could not be loaded or registered, and why."""

    info: PluginInfo
    message: str


@dataclass
class DiscoveryReport:
    """What discovery did: registered, blocked, broken and not yet loaded plugins."""

    registered: list[PluginInfo] = field(default_factory=list)
    blocked: list[tuple[PluginInfo, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: Operator mistakes that are no plugin's: a control naming no installed plugin.
    warnings: list[str] = field(default_factory=list)
    #: The same plugin object declared by more than one entry point: (info, name it has).
    duplicates: list[tuple[PluginInfo, str]] = field(default_factory=list)
    #: Legacy classes found but not imported yet, by hook point name.
    pending: dict[str, list[tuple[PluginInfo, Any]]] = field(default_factory=dict)
    seconds: float = 0.0


def describe(info: PluginInfo) -> str:
    """``entry point 'name = value' in group 'G' of distribution D``."""
    dist = f" of distribution {info.distribution}" if info.distribution else ""
    return f"entry point {info.entry_point!r} in group {info.group!r}{dist}"


class Loader(Protocol):
    """What loads the legacy classes discovery found but did not import yet
    (:class:`nova_hookspec._plugins.discovery.Discovery`)."""

    report: DiscoveryReport

    def load_point(self, name: str) -> None:
        """Import and register the legacy classes of hook point ``name``."""

    def load_all(self) -> None:
        """Import and register every legacy class not loaded yet."""
