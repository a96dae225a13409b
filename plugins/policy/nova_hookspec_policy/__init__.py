"""A server-name policy (a fatal pre observer) and metadata tagging (a wrapper)."""

from __future__ import annotations

import os
import re
from collections.abc import Generator
from typing import Any

from nova_hookspec import FatalHookException, hookimpl

PATTERN_ENV = "NOVA_HOOKSPEC_POLICY_NAME_PATTERN"
METADATA_ENV = "NOVA_HOOKSPEC_POLICY_METADATA"
DEFAULT_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
DEFAULT_METADATA = "managed-by=nova-hookspec"


def metadata() -> dict[str, str]:
    """The metadata to add, from ``NOVA_HOOKSPEC_POLICY_METADATA``."""
    text = os.environ.get(METADATA_ENV, DEFAULT_METADATA)
    pairs = (item.split("=", 1) for item in text.split(",") if "=" in item)
    return {key.strip(): value.strip() for key, value in pairs}


class Policy:
    """The plugin."""

    @hookimpl(tryfirst=True)
    def create_instance_pre(self, display_name: str | None) -> None:
        """Refuse a requested name that breaks the pattern (no name: Nova picks one)."""
        pattern = os.environ.get(PATTERN_ENV, DEFAULT_PATTERN)
        if display_name is not None and not re.match(pattern, display_name):
            raise FatalHookException(
                f"server name {display_name!r} does not match the policy {pattern!r}"
            )

    @hookimpl(wrapper=True)
    def create_instance(self) -> Generator[None, Any, Any]:
        """Tag every returned instance with the policy's metadata."""
        instances, reservation_id = yield
        tags = metadata()
        for instance in instances:
            if getattr(instance, "metadata", None) is None:
                instance.metadata = {}
            instance.metadata.update(tags)
        return instances, reservation_id


#: The instance the entry point names.
plugin = Policy()
