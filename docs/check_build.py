"""Check the built HTML: the hook reference holds all 12 hooks, the guides exist."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nova_hookspec._spec import points as _points


def main(build: Path) -> int:
    reference = (build / "hooks.html").read_text()
    missing = [
        hook
        for point in _points.TYPED_POINTS
        for hook in point.hook_names
        if f'id="nova_hookspec.hookspecs.{hook}"' not in reference
    ]
    pages = ["migration.html", "call-model.html", "attaching.html", "cli.html",
             "failure-semantics.html", "benchmarks.html", "quickstart.html", "support.html",
             "ordering.html", "operators.html", "testing.html", "architecture.html", "deferred.html"]
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
