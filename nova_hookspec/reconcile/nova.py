"""Nova's side of a reconcile pass: the instances Nova holds, from its compute API.

Read through openstacksdk, as every OpenStack operator tool reads it: a
``clouds.yaml`` cloud (``--os-cloud``, or ``OS_CLOUD``) or the ``OS_*``
variables. The listing is ``GET /servers/detail`` of every project
(``all_tenants``), paged with ``limit`` and ``marker`` as Nova's own
``servers_links`` do, at compute microversion 2.47 (the instance's hostname,
reservation id, host and node, and the flavor inline; Nova 21 serves it).
Deleted instances, for the last state of a stale entry, come from the same
listing with ``deleted=True`` and ``changes-since``.

Any error aborts the listing (:class:`ListingError`, one line, no
credentials): an HTTP error on any page, a page that is no server list or
holds an entry that is no server (without an ``id``), a server id that is
no instance UUID as Nova writes them (:data:`INSTANCE_UUID`: in another
spelling it would match no plugin's entry, and a path or any junk would
reach the plugins as ``instance.uuid``), ``servers_links`` that are no list
of links, a full page without a link to the next one, a page chain that
loops. A pass never diffs a partial list.

Defaults (the pass's options may change them): :data:`PAGE_SIZE` servers
a page, :data:`MICROVERSION`.
"""

from __future__ import annotations

import datetime
import re
import reprlib
from collections.abc import Iterator
from typing import Any

#: Servers asked for per page (Nova's ``[api] max_limit`` is 1000 by default).
PAGE_SIZE = 1000
#: The compute API microversion of the listing.
MICROVERSION = "2.47"

#: The fields of a server the pass keeps (the rest of each page is dropped at once).
KEPT = ("id", "name", "status", "tenant_id", "user_id", "created", "updated", "metadata",
        "key_name", "accessIPv4", "accessIPv6", "flavor", "image",
        "OS-EXT-SRV-ATTR:hostname", "OS-EXT-SRV-ATTR:reservation_id",
        "OS-EXT-SRV-ATTR:launch_index", "OS-EXT-SRV-ATTR:host",
        "OS-EXT-SRV-ATTR:hypervisor_hostname", "OS-EXT-STS:vm_state",
        "OS-EXT-STS:task_state", "OS-EXT-STS:power_state", "OS-EXT-AZ:availability_zone",
        "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at")

#: An instance UUID as Nova writes it (``uuidutils.generate_uuid``), in Nova's listing
#: and in a plugin's ``known_instances``: another spelling never matches one.
INSTANCE_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: What an error line says an instance UUID must be.
UUID_FORM = "36 characters: lowercase hex and hyphens"
#: An entry as an error line shows it: whole up to 80 characters, then cut.
SHOWN = reprlib.Repr()
SHOWN.maxstring = SHOWN.maxother = 80


class ListingError(Exception):
    """Nova's instances could not be listed completely: the pass is aborted."""


def connect(cloud: str | None = None) -> Any:
    """An openstacksdk connection to ``cloud`` (``None``: ``OS_CLOUD`` or the ``OS_*``
    variables).

    :raises ListingError: openstacksdk is missing or the cloud cannot be configured.
    """
    try:
        import openstack
    except ImportError:
        raise ListingError("openstacksdk is not installed: Nova's API cannot be read (pip "
                           "install 'nova-hookspec[reconcile]')") from None
    try:
        return openstack.connect(cloud=cloud) if cloud else openstack.connect()
    except Exception as exc:  # noqa: BLE001 - openstacksdk's config errors, one line
        where = f"cloud {cloud!r}" if cloud else "the OS_* variables (or OS_CLOUD)"
        raise ListingError(f"cannot configure Nova's API from {where}: "
                           f"{type(exc).__name__}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else ""


def parse_time(text: object) -> datetime.datetime | None:
    """A time of Nova's API (``2026-12-06T05:53:25Z``, ``...25.000000``) as an aware UTC
    datetime; ``None`` when unset or unreadable."""
    if not isinstance(text, str) or not text:
        return None
    cleaned = text.rstrip("Z").replace("+00:00", "")
    for form in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            found = datetime.datetime.strptime(cleaned, form)
        except ValueError:
            continue
        return found.replace(tzinfo=datetime.timezone.utc)
    return None


def iso(stamp: float) -> str:
    """``stamp`` (seconds since the epoch) as Nova's ``changes-since`` takes it."""
    moment = datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class NovaAPI:
    """Nova's instances, through ``conn`` (an openstacksdk connection)."""

    def __init__(self, conn: Any, page_size: int = PAGE_SIZE,
                 microversion: str = MICROVERSION) -> None:
        self.conn = conn
        self.page_size = page_size
        self.microversion = microversion
        #: Pages read so far (all listings).
        self.pages = 0

    def _pages(self, query: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
        which = "deleted servers" if "deleted" in query else "servers"
        marker: str | None = None
        seen: set[str] = set()
        number = 0
        while True:
            number += 1
            params = {**query, "limit": str(self.page_size)}
            if marker is not None:
                params["marker"] = marker
            try:
                response = self.conn.compute.get("/servers/detail", params=params,
                                                  microversion=self.microversion,
                                                  raise_exc=False)
            except Exception as exc:  # noqa: BLE001 - the transport's errors, one line
                raise ListingError(f"listing Nova's {which} failed on page {number}: "
                                   f"{type(exc).__name__}: {_first_line(exc)}") from None
            if response.status_code != 200:
                raise ListingError(f"listing Nova's {which} failed on page {number}: HTTP "
                                   f"{response.status_code} from {_where(response)}")
            try:
                body = response.json()
                servers = body["servers"]
            except Exception:  # noqa: BLE001 - anything but a server list
                servers = None
            if not isinstance(servers, list):
                raise ListingError(f"listing Nova's {which} failed on page {number}: the "
                                   "answer is no server list")
            for server in servers:
                if not isinstance(server, dict) or not isinstance(server.get("id"), str) \
                        or not server["id"]:
                    raise ListingError(f"listing Nova's {which} failed on page {number}: an "
                                       "entry of the answer is no server (no 'id')")
                if not INSTANCE_UUID.fullmatch(server["id"]):
                    raise ListingError(f"listing Nova's {which} failed on page {number}: "
                                       f"server id {SHOWN.repr(server['id'])} is no instance "
                                       f"UUID as Nova writes them ({UUID_FORM})")
            links = body.get("servers_links")
            if links is None:
                links = []
            if not isinstance(links, list) or not all(
                    isinstance(link, dict) and isinstance(link.get("href"), str)
                    for link in links):
                raise ListingError(f"listing Nova's {which} failed on page {number}: "
                                   "'servers_links' is no list of links (objects with an "
                                   "'href')")
            self.pages += 1
            yield [{key: server.get(key) for key in KEPT} for server in servers]
            follows = any(link.get("rel") == "next" for link in links)
            if not follows and len(servers) >= self.page_size:
                # Nova links the next page whenever a page is full: the chain was cut.
                raise ListingError(f"listing Nova's {which} failed on page {number}: a full "
                                   "page without a link to the next one")
            if not follows or not servers:
                return
            marker = str(servers[-1]["id"])
            if marker in seen:
                raise ListingError(f"listing Nova's {which} failed on page {number}: the "
                                   f"page chain loops (marker {marker} again)")
            seen.add(marker)

    def live(self) -> dict[str, dict[str, Any]]:
        """Every instance Nova holds now, of every project, by UUID."""
        found: dict[str, dict[str, Any]] = {}
        for page in self._pages({"all_tenants": "1"}):
            for server in page:
                found[str(server["id"])] = server
        return found

    def deleted(self, since: float, wanted: set[str]) -> dict[str, dict[str, Any]]:
        """The last state of the instances of ``wanted`` deleted since ``since`` (seconds
        since the epoch), by UUID; the listing's others are dropped as they come."""
        found: dict[str, dict[str, Any]] = {}
        query = {"all_tenants": "1", "deleted": "True", "changes-since": iso(since)}
        for page in self._pages(query):
            for server in page:
                if str(server["id"]) in wanted:
                    found[str(server["id"])] = server
        return found


def _where(response: Any) -> str:
    """The URL of ``response`` without its query (no marker, nothing secret)."""
    url = str(getattr(response, "url", "") or "Nova's API")
    return url.split("?", 1)[0]
