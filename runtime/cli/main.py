"""The ``tessera`` command line: tenants, metadata and the server.

Commands talk to the same TenantService as the REST API. Every command that reports
something takes ``--json`` for scripts; errors print each problem with its location and
exit with status 1.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from runtime.cli import output
from runtime.cli.context import Context, json_option, pass_context, reports_errors
from runtime.settings import Settings, SettingsError

if TYPE_CHECKING:
    # Imported where a command needs them: `tessera --help` starts in a tenth of a
    # second only if the GraphQL, pack and migration layers stay unloaded (issue 17).
    from metadata.validation import ValidMetadata


def _load(path: str) -> ValidMetadata:
    from metadata.validation import validate_file

    return validate_file(path)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    envvar="TESSERA_DATABASE_URL",
    default=None,
    help="Control-plane database (default: tessera.sqlite3 in the data folder).",
)
@click.option(
    "--data-dir",
    envvar="TESSERA_DATA_DIR",
    default=None,
    help="Absolute folder for local state (default: ~/.local/share/tessera).",
)
@click.version_option(package_name="tessera")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, data_dir: str | None) -> None:
    """Tessera: metadata-driven CRM platform.

    Every command reads the TESSERA_* settings (tessera settings lists them); the data
    folder is the same whichever folder you run tessera in.
    """
    environ = dict(os.environ)
    if data_dir is not None:
        environ["TESSERA_DATA_DIR"] = data_dir
    try:
        settings = Settings.from_env(environ, database_url=database_url)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    ctx.obj = Context(settings)


# -- tenants ---------------------------------------------------------------------------------


@cli.group()
def tenant() -> None:
    """Create, list and delete tenants."""


@tenant.command("create")
@click.argument("name")
@click.option("--display-name", help="Human-readable name (default: NAME).")
@click.option(
    "--timezone",
    default="UTC",
    show_default=True,
    help="IANA zone for dates such as auto-number years, e.g. Asia/Shanghai.",
)
@click.option(
    "--metadata",
    "metadata_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Apply this metadata file right after creating the tenant.",
)
@json_option
@pass_context
@reports_errors
def tenant_create(
    ctx: Context,
    name: str,
    display_name: str | None,
    timezone: str,
    metadata_file: str | None,
    as_json: bool,
) -> None:
    """Create tenant NAME with empty storage (optionally applying metadata)."""
    metadata = _load(metadata_file) if metadata_file else None
    info = ctx.service.create_tenant(name, display_name, timezone)
    result = None
    if metadata is not None:
        result = ctx.service.apply(
            name,
            metadata,
            author=getpass.getuser(),
            message=f"initial metadata from {metadata_file}",
        )
    if as_json:
        output.emit_json(
            {
                "tenant": ctx.service.get_tenant(name).to_dict(),
                "apply": result.to_dict() if result else None,
                "hint": no_members_hint(name),
            }
        )
        return
    output.out.print(f"Created tenant [bold]{info.name}[/] ({info.timezone}).")
    if result and result.version:
        output.out.print(f"Applied {metadata_file} as version {result.version.number}.")
    output.out.print(no_members_hint(name))


@tenant.command("list")
@json_option
@pass_context
@reports_errors
def tenant_list(ctx: Context, as_json: bool) -> None:
    """List tenants."""
    from metadata.registry import quick

    # Read with the database's own driver when the control plane is ready: ~0.2 s
    # instead of ~1 s of imports (issue 17); otherwise the full way, which migrates.
    rows = quick.list_tenants(ctx.settings.database_url)
    where = quick.location(ctx.settings.database_url)
    if rows is None:
        from metadata.registry.store import Registry

        with ctx.platform.backend.connect_control() as conn:
            rows = Registry(conn).list_tenants()
        where = ctx.platform.describe_location()
    if as_json:
        output.emit_json([t.to_dict() for t in rows])
    else:
        output.tenants(rows, where=where)


@tenant.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_context
@reports_errors
def tenant_delete(ctx: Context, name: str, yes: bool, as_json: bool) -> None:
    """Delete tenant NAME with all its data and metadata history."""
    ctx.service.get_tenant(name)
    if not yes:
        click.confirm(
            f"Delete tenant {name!r} and ALL its data? This cannot be undone", abort=True, err=True
        )
    ctx.service.delete_tenant(name)
    if as_json:
        output.emit_json({"deleted": name})
    else:
        output.out.print(f"Deleted tenant [bold]{name}[/].")


# -- metadata --------------------------------------------------------------------------------


@cli.group()
def metadata() -> None:
    """Validate, plan and apply metadata; see versions and archives."""


@metadata.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
@reports_errors
def metadata_validate(file: str, as_json: bool) -> None:
    """Check FILE and report every problem with its location."""
    result = _load(file)
    objects = result.model.objects
    if as_json:
        output.emit_json(
            {
                "valid": True,
                "objects": list(objects),
                "warnings": [w.to_dict() for w in result.warnings],
            }
        )
        return
    fields = sum(len(o.fields) for o in objects.values())
    output.out.print(f"[green]{file} is valid[/]: {len(objects)} object(s), {fields} field(s).")
    if result.warnings:
        output.issues(result.warnings, title=f"{len(result.warnings)} warning(s):", to=output.out)


@metadata.command("plan")
@click.argument("tenant_name", metavar="TENANT")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--allow-destructive", is_flag=True, help="Plan as if destructive changes were allowed."
)
@click.option("--sql/--no-sql", default=True, show_default=True, help="Show each step's SQL.")
@json_option
@pass_context
@reports_errors
def metadata_plan(
    ctx: Context, tenant_name: str, file: str, allow_destructive: bool, sql: bool, as_json: bool
) -> None:
    """Show what applying FILE to TENANT would do, without changing anything."""
    report = ctx.service.plan(tenant_name, _load(file), allow_destructive=allow_destructive)
    data = report.to_dict()
    if as_json:
        output.emit_json(data)
    else:
        output.plan(data, show_sql=sql)
    if report.blockers:
        raise SystemExit(1)


@metadata.command("apply")
@click.argument("tenant_name", metavar="TENANT")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--allow-destructive",
    is_flag=True,
    help="Allow dropping objects and fields and lossy conversions (the data is "
    "archived until purged).",
)
@click.option("-m", "--message", default="", help="Why this change was made.")
@click.option("--author", default=None, help="Who made it (default: the current user).")
@click.option(
    "--expect-version",
    type=int,
    default=None,
    help="Refuse unless this version is still active (guards against races).",
)
@json_option
@pass_context
@reports_errors
def metadata_apply(
    ctx: Context,
    tenant_name: str,
    file: str,
    allow_destructive: bool,
    message: str,
    author: str | None,
    expect_version: int | None,
    as_json: bool,
) -> None:
    """Apply FILE to TENANT: migrate its tables and make it the active version."""
    metadata = _load(file)
    with output.progress_bar("Applying", enabled=not as_json) as advance:
        result = ctx.service.apply(
            tenant_name,
            metadata,
            allow_destructive=allow_destructive,
            author=author or getpass.getuser(),
            message=message,
            expected_version=expect_version,
            progress=advance,
        )
    if as_json:
        output.emit_json(result.to_dict())
        return
    if result.version is None:
        output.out.print(f"No changes: tenant {tenant_name!r} already has this metadata.")
        return
    for index, op in enumerate(result.plan.operations, start=1):
        output.out.print(f"  {index:>2}. {op.describe()}")
    output.out.print(
        f"[green]Applied version {result.version.number}[/] to tenant "
        f"{tenant_name!r} ({len(result.plan.operations)} operation(s))."
    )


@metadata.command("history")
@click.argument("tenant_name", metavar="TENANT")
@json_option
@pass_context
@reports_errors
def metadata_history(ctx: Context, tenant_name: str, as_json: bool) -> None:
    """List TENANT's metadata versions, oldest first."""
    versions = ctx.service.history(tenant_name)
    active = ctx.service.get_tenant(tenant_name).active_version
    if as_json:
        output.emit_json([{**v.to_dict(), "active": v.number == active} for v in versions])
    else:
        output.history(tenant_name, versions, active)


@metadata.command("show")
@click.argument("tenant_name", metavar="TENANT")
@click.option("--version", "number", type=int, help="A past version (default: the active one).")
@pass_context
@reports_errors
def metadata_show(ctx: Context, tenant_name: str, number: int | None) -> None:
    """Print TENANT's metadata (canonical JSON), e.g. to save it as a file."""
    if number is None:
        _, snapshot = ctx.service.active(tenant_name)
        text = snapshot.model.to_document()
    else:
        text = ctx.service.version(tenant_name, number).snapshot.model.to_document()
    output.emit_json(text)


@metadata.command("archives")
@click.argument("tenant_name", metavar="TENANT")
@json_option
@pass_context
@reports_errors
def metadata_archives(ctx: Context, tenant_name: str, as_json: bool) -> None:
    """List data kept from destructive changes, until it is purged."""
    rows = ctx.service.archives(tenant_name)
    if as_json:
        output.emit_json(rows)
        return
    output.archives(tenant_name, rows)


@metadata.command("purge")
@click.argument("tenant_name", metavar="TENANT")
@click.argument("archives", nargs=-1)
@click.option("--all", "purge_all", is_flag=True, help="Purge every archive of TENANT.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_context
@reports_errors
def metadata_purge(
    ctx: Context,
    tenant_name: str,
    archives: tuple[str, ...],
    purge_all: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Delete archived data for good (name the ARCHIVES, or use --all)."""
    names = list(archives)
    if purge_all:
        names = [a["name"] for a in ctx.service.archives(tenant_name)]
    if not names:
        raise click.UsageError("name the archives to purge, or pass --all")
    if not yes:
        click.confirm(
            f"Permanently delete {len(names)} archive(s) of {tenant_name!r}?", abort=True, err=True
        )
    removed = ctx.service.purge(tenant_name, names)
    if as_json:
        output.emit_json({"purged": removed})
    else:
        output.out.print(f"Purged {len(removed)} archive(s).")


@metadata.command("schema")
@click.option("--write", is_flag=True, help="Write it to metadata.schema.json in the package.")
def metadata_schema(write: bool) -> None:
    """Print the JSON Schema metadata files must match."""
    from metadata.json_schema import render_schema, write_schema

    if write:
        path = write_schema()
        output.err.print(f"Wrote {path}")
    else:
        click.echo(render_schema(), nl=False)


# -- processes -------------------------------------------------------------------------------


@cli.command()
@click.option("--host", default=None, help="Interface to bind (TESSERA_HOST, default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (TESSERA_PORT, default 8000).")
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Server processes (TESSERA_WEB_CONCURRENCY, default 1).",
)
@pass_context
@reports_errors
def serve(ctx: Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Run the HTTP server: admin API, GraphQL, GraphiQL, API docs, probes and metrics."""
    from runtime.server.app import run

    settings = replace_settings(ctx.settings, host=host, port=port, web_concurrency=workers)
    settings.check()
    if settings.web_concurrency > 1:
        # Each uvicorn worker builds its app from the environment: hand the options on.
        os.environ["TESSERA_DATABASE_URL"] = settings.database_url
        os.environ["TESSERA_DATA_DIR"] = str(settings.data_dir)
    output.err.print(
        f"Tessera on http://{settings.host}:{settings.port} "
        f"({settings.web_concurrency} process(es), {ctx.platform.describe_location()})"
    )
    run(settings)


@cli.command()
@click.option(
    "--concurrency",
    "-c",
    type=int,
    default=4,
    show_default=True,
    help="Runs executed at once (threads).",
)
@click.option(
    "--beat/--no-beat",
    default=True,
    show_default=True,
    help="Also run the beat in this process. Only one beat ticks per deployment; another "
    "stands by. In production run `tessera beat` on its own and --no-beat here.",
)
@click.option(
    "--processes",
    "-p",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes, each with --concurrency threads: runs scale with processes "
    "up to the cores (claims never wait on each other).",
)
@click.option("--loglevel", default=None, help="debug, info, warning (TESSERA_LOG_LEVEL).")
@pass_context
@reports_errors
def worker(
    ctx: Context, concurrency: int, beat: bool, processes: int, loglevel: str | None
) -> None:
    """Run a Celery worker that executes workflows (TESSERA_BROKER_URL picks the broker;
    unset: a SQLite file in the data folder, so no service is needed)."""
    from runtime.observability import logs
    from runtime.processes.beat import beat_thread
    from runtime.processes.worker import make_celery

    if processes > 1:
        from runtime.processes.fleet import run_fleet

        child = [sys.executable, "-m", "runtime.cli.main", "--database-url"]
        child += [ctx.settings.database_url, "--data-dir", str(ctx.settings.data_dir)]
        child += ["worker", "-c", str(concurrency), "--no-beat"]
        child += ["--loglevel", loglevel] if loglevel else []
        output.err.print(f"{processes} workflow worker processes")
        stop = beat_thread(make_celery(ctx.settings.check()), ctx.platform)[1] if beat else None
        try:
            raise SystemExit(run_fleet(child, processes))
        finally:
            if stop is not None:
                stop.set()

    settings = ctx.settings.check()
    level = loglevel or settings.log_level
    logs.configure(settings.effective_log_format, level, process="worker")
    if not settings.workflows.broker_url:
        settings.writable_data_dir()  # the embedded broker's file lives there
    app = make_celery(settings)
    argv = [
        "worker",
        "--pool",
        "threads",
        "-c",
        str(concurrency),
        "-l",
        level,
        "--without-mingle",
        "--without-gossip",
        # A node name of its own, so several workers can share a host.
        "-n",
        f"tessera-{os.getpid()}@%h",
    ]
    output.err.print(f"Workflow worker on {_safe_url(settings.broker_url)}")
    stop = None
    if beat:
        _, stop = beat_thread(app, ctx.platform)
    try:
        app.worker_main(argv)
    finally:
        if stop is not None:
            stop.set()


@cli.command("beat")
@pass_context
@reports_errors
def beat_command(ctx: Context) -> None:
    """Run the beat: a tick every TESSERA_WORKFLOW_TICK seconds, from exactly one process.

    A second beat stands by and takes over when the first stops."""
    import signal
    import threading

    from runtime.observability import logs
    from runtime.processes.beat import run_beat
    from runtime.processes.worker import make_celery

    settings = ctx.settings.check()
    logs.configure(settings.effective_log_format, settings.log_level, process="beat")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    output.err.print(f"Beat on {_safe_url(settings.broker_url)}")
    run_beat(make_celery(settings), ctx.platform, stop)


def _safe_url(url: str) -> str:
    """Return ``url`` without its password, for printing."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def replace_settings(settings: Settings, **changes: Any) -> Settings:
    from dataclasses import replace

    given = {k: v for k, v in changes.items() if v is not None}
    return replace(settings, **given) if given else settings


def no_members_hint(tenant: str) -> str:
    return (
        f"Tenant {tenant!r} has no members yet, so nobody can sign in to it. Add one: "
        f"tessera user grant EMAIL --tenant {tenant} --tenant-admin "
        "(tessera admin create EMAIL makes a platform admin first, if you have none)."
    )


@cli.command()
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@click.option("--no-serve", is_flag=True, help="Set up the demo tenant, then exit.")
@pass_context
@reports_errors
def demo(ctx: Context, host: str | None, port: int | None, no_serve: bool) -> None:
    """Set up the demo tenants (apps/demo_crm, and core_crm with each industry pack) and
    serve them, with a workflow worker beside the server. Ctrl+C stops both."""
    from metadata.packs.catalog import APPS_DIR, Catalog
    from runtime.cli.demo_process import serve_demo
    from runtime.demo import set_up_demo, set_up_pack_demos

    output.err.print(f"Data: {ctx.platform.describe_location()}")
    summary = set_up_demo(ctx.service, identity=ctx.identity)
    output.out.print(summary)
    catalog = Catalog(ctx.settings.apps_dir or APPS_DIR)
    with output.out.status("Installing core_crm and the industry packs into their demo tenants"):
        output.out.print(set_up_pack_demos(ctx.service, catalog, identity=ctx.identity))
    if no_serve:
        return
    serve_demo(replace_settings(ctx.settings, host=host, port=port))


def main() -> None:  # pragma: no cover - console entry point
    cli(prog_name="tessera")


if __name__ == "__main__":  # pragma: no cover
    main()


from runtime.cli import identity_commands  # noqa: E402  (registers user, token, audit)

identity_commands.register(cli, pass_context, reports_errors, json_option)

from runtime.cli import app_commands  # noqa: E402  (registers app)

app_commands.register(cli, pass_context, reports_errors, json_option)

from runtime.cli import ops_commands  # noqa: E402  (registers settings, admin, migrate)

ops_commands.register(cli, pass_context, reports_errors, json_option)

from runtime.cli import backup_commands  # noqa: E402  (registers tenant export/import, backup)

backup_commands.register(cli, pass_context, reports_errors, json_option)
