"""Check that an environment honours an upper-constraints file: every installed
package the file pins has exactly the pinned version. Prints pluggy's and
importlib-metadata's versions either way.

    python tools/check_pins.py constraints/upper-constraints-ussuri.txt
    python tools/check_pins.py            # no file: only print the versions

Exit status 1 when a pin is not honoured.
"""

from __future__ import annotations

import re
import sys

if sys.version_info >= (3, 10):
    from importlib import metadata
else:  # the backport, a dependency of nova_hookspec there
    import importlib_metadata as metadata


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _marker_holds(marker: str) -> bool:
    try:
        from packaging.markers import Marker
    except ImportError:  # pragma: no cover - every Nova environment has packaging
        return True
    return bool(Marker(marker).evaluate())


def pins(path: str) -> dict[str, str]:
    """``name -> version`` of the lines of a constraints file that apply here."""
    found = {}
    with open(path, encoding="utf-8") as handle:
        for raw in handle:
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            requirement, _, marker = line.partition(";")
            name, sep, version = requirement.partition("===")
            if not sep:
                name, sep, version = requirement.partition("==")
            if sep and (not marker.strip() or _marker_holds(marker.strip())):
                found[_normalize(name.strip())] = version.strip()
    return found


def installed() -> dict[str, str]:
    return {_normalize(d.metadata["Name"]): d.version for d in metadata.distributions()}


def main(argv: list[str]) -> int:
    have = installed()
    print("pluggy", have.get("pluggy"), "| importlib-metadata", have.get("importlib-metadata"),
          "| nova", have.get("nova"), "| nova-hookspec", have.get("nova-hookspec"))
    if not argv:
        return 0
    wanted = pins(argv[0])
    wrong = {name: (version, have[name]) for name, version in wanted.items()
             if name in have and have[name] != version}
    for name, (pinned, actual) in sorted(wrong.items()):
        print(f"NOT HONOURED: {name} is {actual}, the constraints pin {pinned}")
    checked = sum(1 for name in wanted if name in have)
    print(f"{checked} installed package(s) checked against {argv[0]}: "
          f"{'all pins honoured' if not wrong else f'{len(wrong)} not honoured'}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
