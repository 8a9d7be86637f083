"""How the CLI shows things: rich tables and plans for people, JSON for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from metadata.errors import Issue

if TYPE_CHECKING:  # type names only: the CLI must start without the database layer
    from metadata.registry.store import TenantInfo, VersionInfo
    from runtime.storage.migrator import Progress as ProgressCallback

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def progress_bar(label: str, *, enabled: bool) -> Iterator[ProgressCallback | None]:
    """Show a progress bar on stderr while a plan runs; yield the storage migrator's
    callback (done, total, operation), or None when disabled."""
    with steps_bar(label, enabled=enabled) as advance:
        if advance is None:
            yield None
            return
        yield lambda done, total, op: advance(done, total, op.describe())


@contextmanager
def steps_bar(label: str, *, enabled: bool) -> Iterator[Any]:
    """Show a progress bar on stderr; yield a callback (done, total, what) or None."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total, description=f"{label}: {what}"[:60])

        yield advance


def emit_json(data: Any) -> None:
    """Write ``data`` as JSON on stdout (the only thing printed in --json mode)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def issues(items: Iterable[Issue], *, title: str | None = None, to=err) -> None:
    """Print issues one per line: location, then the message."""
    items = list(items)
    if title:
        to.print(f"[bold red]{escape(title)}[/]")
    for issue in items:
        colour = "yellow" if issue.severity == "warning" else "red"
        to.print(f"  [{colour}]{issue.severity}[/] [cyan]{escape(issue.location())}[/]")
        to.print(f"    {escape(issue.message)}")


def tenants(rows: list[TenantInfo], *, where: str = "") -> None:
    table = Table(title="Tenants", title_justify="left")
    width = max([4] + [len(t.name) for t in rows])
    table.add_column("Name", no_wrap=True, min_width=width, overflow="ignore")
    for column in ("Display name", "Timezone", "Active version", "Created"):
        table.add_column(column, overflow="fold")
    for t in rows:
        table.add_row(
            t.name,
            t.display_name,
            t.timezone,
            str(t.active_version) if t.active_version else "-",
            t.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    if rows:
        out.print(table)
        return
    place = f" in {where}" if where else ""
    out.print(
        escape(f"No tenants yet{place}. Create one with `tessera tenant create NAME`"),
        escape("(TESSERA_DATA_DIR or TESSERA_DATABASE_URL chooses where Tessera's data is)."),
    )


def history(name: str, versions: list[VersionInfo], active: int | None) -> None:
    if not versions:
        out.print(f"Tenant {name!r} has no metadata versions yet.")
        return
    table = Table(title=f"Metadata history of {name}", title_justify="left")
    for column in ("Version", "Hash", "Applied at (UTC)", "Author", "Changes", "Message"):
        table.add_column(column, overflow="fold")
    for v in versions:
        marker = " (active)" if v.number == active else ""
        table.add_row(
            f"{v.number}{marker}",
            v.content_hash[:12],
            v.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            v.author,
            _changes_summary(v.operations),
            v.message or "",
        )
    out.print(table)


def archives(name: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        out.print(f"Tenant {name!r} has no archived data.")
        return
    table = Table(title=f"Archived data of {name}", title_justify="left")
    # Names are what `tessera metadata purge` takes: keep them whole on one line.
    table.add_column("Archive table", no_wrap=True, min_width=max(len(row["name"]) for row in rows))
    for column in ("Object", "Field", "Version", "Rows", "Archived at"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["name"],
            row["object"],
            row["field"] or "(whole object)",
            str(row["version"]),
            str(row["row_count"]),
            row["archived_at"][:19],
        )
    out.print(table)


def _changes_summary(operations: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for op in operations:
        counts[op["op"]] = counts.get(op["op"], 0) + 1
    return ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items()) or "-"


def plan(report: dict[str, Any], *, show_sql: bool) -> None:
    """Print a plan: each operation, flagged if destructive, with its SQL."""
    ops = report["operations"]
    base = report["base_version"] or "none"
    if not report["changed"]:
        out.print(
            f"No changes: tenant {report['tenant']!r} already has this metadata (version {base})."
        )
        return
    out.print(
        f"[bold]Plan for tenant {escape(report['tenant'])}[/]: version {base} → "
        f"{report['next_version']}, {len(ops)} operation(s)"
    )
    for index, op in enumerate(ops, start=1):
        flag = " [bold red](destructive)[/]" if op["destructive"] else ""
        dim = "" if op["touches_storage"] else " [dim](metadata only)[/]"
        out.print(f"  {index:>2}. {escape(op['description'])}{flag}{dim}")
        if show_sql and op["sql"]:
            # Plain text, never cropped: a reviewer must see every statement whole.
            sql = "\n".join("      " + line for line in op["sql"].splitlines() if line.strip())
            out.print(escape(sql), style="cyan", soft_wrap=True)
    if report["blockers"]:
        issues(
            [Issue(**b) for b in report["blockers"]],
            title=f"{len(report['blockers'])} problem(s) would stop this apply:",
            to=out,
        )
    else:
        out.print("[green]Nothing blocks this plan.[/]")


#: Columns whose values are identifiers people copy into the next command: never cut.
_KEEP_WHOLE = ("id", "email", "name", "user", "actor", "archive table", "variable", "e-mail")


def table(
    columns: list[str], rows: list[list[Any]], *, title: str, no_wrap: tuple[str, ...] = ()
) -> None:
    """Print rows under column headings (cells shown as text, never as markup).

    Identifiers (ids, e-mails, names, and columns named in ``no_wrap``) are never cut or
    wrapped: they are what people copy into the next command. When the terminal is too
    narrow for them to fit in a table, each row is printed as a block of "column: value"
    lines instead.
    """
    whole = {c for c in columns if c in no_wrap or c.lower() in _KEEP_WHOLE}
    cells = [[str(cell) for cell in row] for row in rows]
    widths = {
        c: max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns) if c in whole
    }
    # Each column takes its borders and padding (3); the others need some room to wrap.
    needed = sum(widths.values()) + 6 * (len(columns) - len(widths)) + 3 * len(columns) + 1
    if needed > out.width:
        out.print(f"[bold]{escape(title)}[/]")
        label = max(len(c) for c in columns) + 1
        for row in cells:
            out.print()
            for column, cell in zip(columns, row, strict=True):
                out.print(f"  {escape(column + ':'):<{label}} {escape(cell)}", soft_wrap=True)
        return
    shown = Table(title=title, title_justify="left")
    for name in columns:
        if name in whole:
            shown.add_column(name, no_wrap=True, min_width=widths[name], overflow="ignore")
        else:
            shown.add_column(name, overflow="fold")
    for row in cells:
        shown.add_row(*(escape(cell) for cell in row))
    out.print(shown)
