"""Sphinx configuration for nova_hookspec's documentation."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nova_hookspec import __version__

project = "nova_hookspec"
version = release = __version__
REPOSITORY = "https://github.com/nova-hookspec/nova_hookspec"
author = "nova_hookspec developers"
copyright = "2026, nova_hookspec developers"
extensions = ["sphinx.ext.autodoc", "myst_parser"]
myst_enable_extensions = ["substitution", "deflist"]
myst_substitutions = {"version": __version__, "repository": REPOSITORY}
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
# Short signatures: parameter names only; the types go into the parameter list.
autodoc_typehints = "description"
autodoc_typehints_format = "short"
python_use_unqualified_type_names = True
autodoc_type_aliases = {
    name: name
    for name in ("ComputeAPI", "ComputeManager", "NetworkAPI", "RequestContext", "Instance",
                 "Flavor", "NovaObject")
}
autodoc_member_order = "bysource"
myst_heading_anchors = 3
# furo: a fluid body, so wide tables and code blocks scroll instead of being cut off.
html_theme = "furo"
html_title = f"nova_hookspec {__version__}"
html_static_path = ["_static"]
html_css_files = ["wide.css"]
html_theme_options = {"source_repository": REPOSITORY, "source_branch": "main",
                      "source_directory": "docs/"}
