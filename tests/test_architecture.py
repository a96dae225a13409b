"""The architecture page, the layer contracts and the tree must agree.

``docs/architecture.md`` tells a newcomer which folder holds what; these tests
fail when a module is added, moved or removed without the page saying so, or
when the page's layer order is not the one ``.importlinter`` enforces.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import nova_hookspec

ROOT = Path(__file__).resolve().parent.parent
#: The package the tests import: the source tree, or the installed wheel (tests-wheel).
PACKAGE = Path(nova_hookspec.__file__).resolve().parent
PAGE = (ROOT / "docs" / "architecture.md").read_text()
FOLDERS = ["_spec", "_seams", "_call", "_plugins", "deferred", "_nova", "reconcile", "_cli"]


def _table() -> dict[str, set[str]]:
    """The page's table: folder -> the modules it names (public ones beside it included)."""
    rows = {}
    for line in PAGE.splitlines():
        found = re.match(r"\| `(\w+)/` \|[^|]*\| (.*) \|$", line)
        if found:
            rows[found.group(1)] = set(re.findall(r"`(\w+)`", found.group(2)))
    return rows


def test_every_folder_is_a_row_and_every_module_is_named_in_its_row() -> None:
    table = _table()
    assert sorted(table) == sorted(FOLDERS)
    on_disk = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert on_disk - {"schemas"} == set(FOLDERS)
    for folder in FOLDERS:
        modules = {p.stem for p in (PACKAGE / folder).glob("*.py") if p.stem != "__init__"}
        modules |= {p.name for p in (PACKAGE / folder).iterdir() if (p / "__init__.py").is_file()}
        named = table[folder]
        assert modules <= named, f"{folder}/ has modules the page does not name: {modules - named}"
        public = {p.stem for p in PACKAGE.glob("*.py")}
        assert named - modules <= public, f"the page names modules {folder}/ lacks"


def test_the_pages_layer_picture_is_the_contracts_order() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    contract = config["importlinter:contract:layers"]
    layers = [line.strip() for line in contract["layers"].strip().splitlines()]
    picture = re.search(r"```text\n(.*?)```", PAGE, flags=re.DOTALL)
    assert picture is not None
    drawn = []
    for line in picture.group(1).splitlines():
        cell = re.sub(r"^\s*(top|bottom)?\s+", "", line)
        drawn.append(re.split(r"\s{3,}", cell)[0].replace("/", "").strip())
    assert drawn == layers


def test_every_public_module_has_a_layer() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    layered = set(re.findall(r"\w+", config["importlinter:contract:layers"]["layers"]))
    public = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert public <= layered, f"public modules with no layer: {public - layered}"
