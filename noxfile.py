"""Developer and CI sessions: ``nox -s tests lint typecheck``."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typecheck"]

#: The oldest pluggy nova_hookspec supports and the newest: 1.7 fills spec
#: defaults into calls and passes impl keyword defaults, 1.5/1.6 do not.
PLUGGY = ["1.5.0", "1.7.0"]


@nox.session
@nox.parametrize("pluggy", PLUGGY)
def tests(session: nox.Session, pluggy: str) -> None:
    """The test suite against one pluggy release."""
    session.install(".[test]", f"pluggy=={pluggy}")
    session.run("python", "-m", "pytest", *session.posargs, success_codes=[0, 5])


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the package, tests, plugins and this file."""
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package."""
    session.install(".", "mypy")
    session.run("mypy", "--strict", "nova_hookspec")
