"""What every command gets: its context (settings, and the platform built on first use),
``--json``, and the reporting of expected failures as readable messages."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from metadata.errors import MetadataError
from runtime.cli import output
from runtime.settings import Settings

if TYPE_CHECKING:
    from runtime.security.identity import Identity
    from runtime.tenants import TenantService
    from runtime.wiring import Platform


class Context:
    """What every command gets: settings, and the platform's parts built on first use
    (``runtime/wiring.py``), so a change made here reaches running servers too."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._platform: Platform | None = None

    @property
    def platform(self) -> Platform:
        if self._platform is None:
            from runtime.wiring import Platform

            self._platform = Platform(self.settings)
        return self._platform

    @property
    def service(self) -> TenantService:
        return self.platform.service

    @property
    def identity(self) -> Identity:
        return self.platform.identity


pass_context = click.make_pass_decorator(Context)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected failures into readable messages (or JSON) and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = kwargs.get("as_json", False)
        try:
            return command(*args, **kwargs)
        except MetadataError as exc:
            if as_json:
                output.emit_json({"error": exc.title, "issues": [i.to_dict() for i in exc.issues]})
            else:
                output.issues(exc.issues, title=f"{exc.title}:")
            raise SystemExit(1) from None
        except Exception as exc:
            if _is(exc, "metadata.packs.catalog", "PackError"):
                if as_json:
                    output.emit_json({"error": exc.title, "problems": exc.problems})  # type: ignore[attr-defined]
                else:
                    output.err.print(f"[bold red]Error:[/] {escape(exc.title)}")  # type: ignore[attr-defined]
                    for problem in exc.problems:  # type: ignore[attr-defined]
                        output.err.print(f"  - {escape(problem)}", soft_wrap=True)
                raise SystemExit(1) from None
            if not _expected(exc):
                raise
            if as_json:
                output.emit_json({"error": str(exc)})
            else:
                output.err.print(f"[bold red]Error:[/] {escape(str(exc))}")
            raise SystemExit(1) from None

    return wrapper


#: Failures a command reports as a readable message: (module, class). A module not
#: imported yet cannot have raised its error, so checking costs no import.
_EXPECTED = (
    ("metadata.registry.store", "RegistryError"),
    ("runtime.tenants.reports", "StorageDrift"),
    ("runtime.settings", "SettingsError"),
)


def _is(exc: Exception, module: str, name: str) -> bool:
    loaded = sys.modules.get(module)
    return loaded is not None and isinstance(exc, getattr(loaded, name))


def _expected(exc: Exception) -> bool:
    return isinstance(exc, FileNotFoundError) or any(_is(exc, *e) for e in _EXPECTED)
