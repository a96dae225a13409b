"""List every project's servers, paged, in a process of its own; print figures.

Why a process of its own: the memory a listing costs is measured as the
process's peak RSS (``ru_maxrss``) against its RSS once its imports are
done, with nothing else of the test in it.

``--via sdk`` lists as ``nova-hookspec reconcile`` does, through openstacksdk
(the cloud from ``OS_CLIENT_CONFIG_FILE``/``OS_CLOUD``,
``compute.servers(details=True, all_projects=True, limit=...)``); ``--via
http`` by plain HTTP, following ``servers_links`` (the floor a client can
reach). Prints one JSON object: ``ids`` (uuid -> status), ``pages`` (http),
``seconds``, ``rss_before_kib``, ``rss_peak_kib``; on an API error, the error
and the count listed before it, exit status 1.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import urllib.request


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def via_sdk(limit: int, changes_since: str | None, ids: dict[str, str]) -> None:
    import openstack

    connection = openstack.connect()
    query = {"changes_since": changes_since} if changes_since else {}
    for server in connection.compute.servers(details=True, all_projects=True, limit=limit,
                                             **query):
        ids[server.id] = server.status


def via_http(endpoint: str, limit: int, changes_since: str | None,
             ids: dict[str, str]) -> int:
    url: str | None = f"{endpoint}/servers/detail?all_tenants=1&limit={limit}"
    if changes_since:
        url = f"{url}&changes-since={changes_since}"
    pages = 0
    while url:
        with urllib.request.urlopen(url, timeout=600) as answer:
            body = json.load(answer)
        pages += 1
        for server in body["servers"]:
            ids[server["id"]] = server["status"]
        url = next((link["href"] for link in body.get("servers_links", [])
                    if link["rel"] == "next"), None)
    return pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--via", choices=["sdk", "http"], default="sdk")
    parser.add_argument("--endpoint", help="the compute endpoint (--via http)")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--changes-since")
    args = parser.parse_args()
    if args.via == "sdk":
        import openstack  # noqa: F401 - imported before the baseline is taken
    before = _rss_kib()
    ids: dict[str, str] = {}
    pages: int | None
    started = time.monotonic()
    try:
        if args.via == "sdk":
            via_sdk(args.limit, args.changes_since, ids)
            pages = None  # openstacksdk follows the pages itself: Nova's log counts them
        else:
            pages = via_http(args.endpoint, args.limit, args.changes_since, ids)
    except Exception as error:  # noqa: BLE001 - reported to the test as data
        print(json.dumps({"error": f"{type(error).__name__}: {error}", "listed": len(ids)}))
        return 1
    seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"ids": ids, "pages": pages, "seconds": round(seconds, 2),
                      "rss_before_kib": before, "rss_peak_kib": peak}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
