"""Installed distributions and their entry points, on every supported Python.

Python 3.10 and later have ``importlib.metadata`` with ``entry_points(group=)``;
3.8 and 3.9 use the ``importlib-metadata`` backport (a dependency there), in
any release from 1.6.0 (OpenStack Ussuri's pin), whose ``entry_points()``
returns a dict and whose entry points know no distribution. So nova_hookspec
reads entry points per distribution, which works on all of them and finds
both groups in one pass. The module is imported when first needed, not when
nova_hookspec is.
"""

from __future__ import annotations

import importlib
import logging
import re
import sys
from collections.abc import Iterator
from typing import Any, NamedTuple

log = logging.getLogger("nova_hookspec")

_metadata: Any = None


def metadata() -> Any:
    """``importlib.metadata`` (3.10+) or the ``importlib_metadata`` backport."""
    global _metadata
    if _metadata is None:
        name = "importlib.metadata" if sys.version_info >= (3, 10) else "importlib_metadata"
        _metadata = importlib.import_module(name)
    return _metadata


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


class EntryPoint(NamedTuple):
    """One line of an ``entry_points.txt``: ``name = value`` in ``[group]``.

    Parsed here rather than by ``importlib.metadata`` because its releases
    differ: 1.6.0 (Python 3.8's backport pin) refuses a file that declares
    one name twice in a group, which newer releases, and Nova's hook classes
    in the wild, allow.
    """

    name: str
    value: str
    group: str

    def load(self) -> Any:
        """Import the module and return the attribute the value names.

        :raises ValueError: for a line that declares no ``module[:attr]``.
        """
        match = _VALUE.match(self.value)
        if not match:
            raise ValueError(f"malformed entry point {self.name!r} = {self.value!r}: its "
                             "value must be 'module' or 'module:attr' (extras '[x]' allowed)")
        obj: Any = importlib.import_module(match.group("module"))
        for attr in filter(None, (match.group("attr") or "").split(".")):
            obj = getattr(obj, attr)
        return obj


#: ``module``, ``module:attr.attr``, each optionally followed by ``[extras]``.
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(?::\s*(?P<attr>[\w.]+)\s*)?(?:\[[^]]*\]\s*)?\Z")


def parse_entry_points(text: str) -> list[EntryPoint]:
    """The entry points an ``entry_points.txt`` declares, in file order.

    Lenient where ``importlib.metadata`` is: lines before the first section are
    ignored, and a malformed line (``name =`` with no value, no ``=``) is kept
    with what it has, so it fails when loaded (a problem of that one entry
    point) instead of hiding the distribution's other entry points.
    """
    found = []
    group = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
            continue
        if group is None:
            continue
        name, _sep, value = line.partition("=")
        found.append(EntryPoint(name.strip(), value.strip(), group))
    return found


class DistEntryPoint(NamedTuple):
    """An entry point with the distribution that declares it.

    :param entry_point: the entry point.
    :param distribution: the distribution's name as its metadata says, else
        as its ``.dist-info`` folder says.
    :param version: its version, likewise (``None`` if neither says).
    :param problem: why the metadata could not be read, if it could not.
    """

    entry_point: EntryPoint
    distribution: str | None
    version: str | None
    problem: str | None


def _folder_name(dist: Any) -> tuple[str | None, str | None]:
    """Name and version from a ``NAME-VERSION.dist-info`` (or ``.egg-info``) folder."""
    path = getattr(dist, "_path", None)
    stem = getattr(path, "stem", "") or ""
    name, _, version = stem.partition("-")
    return (name or None), (version or None)


def _headers(text: str) -> dict[str, str]:
    """The first ``Name`` and ``Version`` of a ``METADATA`` (or ``PKG-INFO``) text.

    Its headers are read line by line up to the first blank line, rather than
    through ``Distribution.metadata``: that imports the ``email`` package,
    which costs a Nova service more than the rest of its first hooked call.
    """
    found: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if sep and key in ("name", "version") and key not in found:
            found[key] = value.strip()
    return found


def _name_and_version(dist: Any) -> tuple[str | None, str | None, str | None]:
    try:
        headers = _headers(dist.read_text("METADATA") or dist.read_text("PKG-INFO") or "")
        name, version = headers.get("name"), headers.get("version")
    except Exception as exc:  # noqa: BLE001 - a broken METADATA (not UTF-8, say) is reported
        name, version = _folder_name(dist)
        return name, version, f"its metadata could not be read ({type(exc).__name__})"
    if not name:
        name, version = _folder_name(dist)
    return name, version, None


def entry_points(*groups: str) -> Iterator[DistEntryPoint]:
    """Every entry point of ``groups``, with its distribution, in ``sys.path`` order.

    A distribution found twice on ``sys.path`` counts once (the first, as
    Python imports it). Reading one distribution's files never stops the
    scan: its metadata falls back to the folder name, with the problem said.
    """
    md = metadata()
    headers = tuple(f"[{group}]" for group in groups)
    seen: set[str] = set()
    for dist in md.distributions():
        # Only the first copy of a distribution on sys.path counts, as Python imports
        # it, even when that copy declares none of our entry points: a stale copy
        # further down may still declare one.
        folder, _version = _folder_name(dist)
        if folder is not None and normalize(folder) in seen:
            continue
        try:
            text = dist.read_text("entry_points.txt")
        except Exception:  # noqa: BLE001 - unreadable: it declares nothing we can use
            text = None
        if not text or not any(header in text for header in headers):
            if folder is not None:
                seen.add(normalize(folder))
            continue
        name, version, problem = _name_and_version(dist)
        key = normalize(name) if name else f"?{id(dist)}"
        if key in seen:
            continue
        seen.add(key)
        if folder is not None:
            seen.add(normalize(folder))
        for ep in parse_entry_points(text):
            if ep.group in groups:
                yield DistEntryPoint(ep, name, version, problem)


def near_miss_groups(groups: tuple[str, ...]) -> Iterator[tuple[str | None, str, str]]:
    """``(distribution, group, meant)`` for each entry-point group that looks
    like a misspelling of one of ``groups`` (``nova_hookspecs``, ``nova.hook``).

    A full scan of every distribution's entry points: for ``check``, not for
    a service's discovery.
    """
    import difflib

    folded = {normalize(g): g for g in groups}
    for dist in metadata().distributions():
        try:
            text = dist.read_text("entry_points.txt") or ""
        except Exception:  # noqa: BLE001 - unreadable: nothing to say about it
            continue
        if "nova" not in text.lower():
            continue
        for raw in text.splitlines():
            line = raw.strip()
            if not (line.startswith("[") and line.endswith("]")):
                continue
            group = line[1:-1].strip()
            if group in groups:
                continue
            close = difflib.get_close_matches(normalize(group), list(folded), n=1, cutoff=0.85)
            if close:
                name, _version, _problem = _name_and_version(dist)
                yield name, group, folded[close[0]]


def console_script(name: str) -> EntryPoint | None:
    """The ``console_scripts`` entry point called ``name``, if one is installed."""
    for found in entry_points("console_scripts"):
        if found.entry_point.name == name:
            return found.entry_point
    return None
