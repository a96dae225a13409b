"""Sphinx configuration for nova_hookspec's documentation."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

project = "nova_hookspec"
author = "nova_hookspec developers"
copyright = "2026, nova_hookspec developers"
extensions = ["sphinx.ext.autodoc", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
autodoc_typehints = "signature"
autodoc_type_aliases = {
    name: f"nova_hookspec.hookspecs.{name}"
    for name in ("ComputeAPI", "ComputeManager", "NetworkAPI", "RequestContext", "Instance",
                 "Flavor", "NovaObject")
}
autodoc_member_order = "bysource"
myst_heading_anchors = 3
html_theme = "alabaster"
html_title = "nova_hookspec"
