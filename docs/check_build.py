"""Check the built HTML: the hook reference holds all 12 hooks, every page of the
navigation (index.md's toctree) exists."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nova_hookspec._spec import points as _points


def navigation() -> list[str]:
    """The pages of index.md's navigation (its toctree), in order."""
    lines = (Path(__file__).resolve().parent / "index.md").read_text().splitlines()
    start = lines.index("```{toctree}") + 1
    end = lines.index("```", start)
    return [line.strip() for line in lines[start:end]
            if line.strip() and not line.startswith(":")]


def main(build: Path) -> int:
    reference = (build / "hooks.html").read_text()
    missing = [
        hook
        for point in _points.TYPED_POINTS
        for hook in point.hook_names
        if f'id="nova_hookspec.hookspecs.{hook}"' not in reference
    ]
    pages = [f"{name}.html" for name in navigation()]
    absent = [page for page in pages if not (build / page).is_file()]
    if "Migrating from nova.hooks" not in (build / "migration.html").read_text():
        absent.append("migration guide title")
    for problem in [*(f"hook reference lacks {h}" for h in missing), *absent]:
        print(f"docs build: {problem}", file=sys.stderr)
    print(f"docs build: {12 - len(missing)} of 12 hooks in the reference; "
          f"{len(pages) - len(absent)} of {len(pages)} pages")
    return 1 if missing or absent else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
