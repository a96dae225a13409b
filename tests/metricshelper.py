"""The metric names the shipped alert rules and dashboard use, and what a worker exports.

Shared by tests/test_dashboards.py (one host) and tests_broker/test_metrics.py
(across hosts).
"""

from __future__ import annotations

import json
import re
import socket
import urllib.request
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
RULES = DEPLOY / "prometheus" / "nova-hookspec.rules.yml"
#: The reconcile passes' rules (their metrics come from a textfile, not a worker's port).
RECONCILE_RULES = DEPLOY / "prometheus" / "reconcile-alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "nova-hookspec-deferred.json"
NAME = re.compile(r"\bnova_hookspec_[a-z_]+")
#: What only a worker that relays, or talks to a broker, exports.
ACROSS_HOSTS_ONLY = {"nova_hookspec_deferred_outbox_jobs",
                     "nova_hookspec_deferred_outbox_oldest_age_seconds",
                     "nova_hookspec_deferred_broker_up",
                     "nova_hookspec_deferred_unconsumed_jobs"}


def rule_expressions() -> list[str]:
    """The ``expr:`` of every alert rule (each is one line in the file)."""
    return [line.split("expr:", 1)[1].strip() for line in RULES.read_text().splitlines()
            if line.strip().startswith("expr:")]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def used_names() -> set[str]:
    return {name for expr in rule_expressions() + dashboard_expressions()
            for name in NAME.findall(expr)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(port: int) -> str:
    """The worker's /metrics, or "" while it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as got:
            return str(got.read().decode())
    except OSError:
        return ""


def samples(text: str) -> dict[str, float]:
    """Each sample line of an exposition: ``name{labels}`` -> value."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            found[key] = float(value)
    return found


def exported(text: str) -> set[str]:
    """The names with at least one sample (a family with none is not exported)."""
    return {re.split(r"[{ ]", key, maxsplit=1)[0] for key in samples(text)}
