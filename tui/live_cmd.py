"""`muster live`: the coordination desk in the app, and its records in and out.

    muster live [--db PATH] [--as NAME]                 the desk (the Textual app)
    muster live import CASES.csv [--operation OP] [--column id=工单号 ...]
    muster live export [--format json|csv|md] [--what cases|timeline] [--out FILE]
    muster live backup DEST                              (SQLite's backup API, checked)
    muster live review OPERATION [--out DIR]             the post-incident review
    muster live sample [--month 2026-12] [--seed N]      the quality post's 5% sample
    muster live to-drill OPERATION --out drill.yaml      a drill from what happened
    muster live retention [--set DAYS]                   how long records are kept (>= 3 y)
    muster live migrate --from sqlite:PATH --to postgresql://...   (and back) event for event

Every command takes `--db` (default: the user's data folder) and exits 2 with located lines
on bad input, nothing written.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from tui.live_common import (as_option, db_option, default_db, default_operator, emit_json,
                             guarded, json_option, open_desk, say, table)

__all__ = ["live_app"]

live_app = typer.Typer(help="The live coordination desk: `muster live` opens it; import, "
                            "export, back up, review, sample, turn into a drill.",
                       no_args_is_help=False, invoke_without_command=True,
                       pretty_exceptions_enable=False)


@live_app.callback(invoke_without_command=True)
def live(ctx: typer.Context, db: Path | None = db_option(), who: str | None = as_option()) -> None:
    """The desk: what is due next across every case, breaching soonest first; operations,
    levels, roles, tasks, updates; bulk actions. Several terminals may open one database."""
    if ctx.invoked_subcommand is not None:
        # `muster live --db X export`: the group's --db and --as reach the subcommand as its
        # defaults (Click's default_map), unless it is given its own.
        given = {k: str(v) for k, v in (("db", db), ("who", who)) if v is not None}
        if given:
            ctx.default_map = {**(ctx.default_map or {}), ctx.invoked_subcommand: given}
        return
    try:
        path = db if db is not None else default_db()
        if db is None and isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        from desk.desk import check_operator
        from incidents.store import safe_url
        operator = check_operator(who or default_operator(), safe_url(str(path)))
        from tui.app import run_live_app  # Textual only when the app opens
    except ValueError as exc:
        from tui.live_common import refuse
        raise refuse(exc) from None
    run_live_app(path, operator)


@live_app.command("import")
@guarded
def import_cmd(csv_file: Path = typer.Argument(..., metavar="CASES.csv"),
               operation: str | None = typer.Option(None, "--operation", help="The operation "
                                                    "the cases belong to."),
               playbook: str | None = typer.Option(None, "--playbook", help="Default: the "
                                                   "operation's, else by kind."),
               column: list[str] = typer.Option([], "--column", show_default="none", help="FIELD=HEADER, e.g. "
                                                "id=工单号 (fields: id, opened, tier, kind, "
                                                "customer, batch, region, product...)."),
               kind: str | None = typer.Option(None, "--kind", help="The kind of every case "
                                               "without a kind column."),
               zone: str | None = typer.Option(None, "--timezone", help="Zone of times "
                                               "without one (default: the operation's "
                                               "playbook's, else UTC)."),
               time_format: str | None = typer.Option(None, "--time-format", help="A strptime "
                                                      "format (default ISO 8601)."),
               encoding: str = typer.Option("utf-8-sig", "--encoding", help="e.g. gbk for an "
                                            "export from Chinese Excel."),
               db: Path | None = db_option(), who: str | None = as_option(),
               as_json: bool = json_option()) -> None:
    """Import cases from a CRM export (CSV): every row checked first, then all at once."""
    from desk.importer import import_file, parse_columns
    mapping = parse_columns(column, str(csv_file))
    with open_desk(db, who, create=True) as desk:
        done = import_file(desk, csv_file, operation=operation, playbook=playbook,
                           columns=mapping, kind=kind, zone=zone, time_format=time_format,
                           encoding=encoding)
    if as_json:
        emit_json({"imported": done.imported, "skipped": done.skipped, "rows": done.rows})
    else:
        say(f"{csv_file}: {done.message}")


@live_app.command("export")
@guarded
def export_cmd(fmt: str = typer.Option("json", "--format", help="json | csv | md"),
               what: str = typer.Option("cases", "--what", help="csv: cases or timeline."),
               operation: str | None = typer.Option(None, "--operation"),
               out: Path | None = typer.Option(None, "--out", help="A file (default: standard "
                                               "output)."),
               db: Path | None = db_option(), who: str | None = as_option()) -> None:
    """The desk's records: JSON (everything), CSV (cases or the timeline), Markdown."""
    from desk.errors import DeskError
    from desk.export import export
    with open_desk(db, who, readonly=True) as desk:
        text = export(desk.model, fmt, operation=operation, what=what)
    if out is None:
        sys.stdout.write(text)
        return
    if out.exists() and out.is_dir():
        raise DeskError(str(out), "is a folder; give a file name")
    tmp = out.with_name(f".{out.name}.partial")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DeskError(str(out), f"cannot write: {exc.strerror or exc}") from None
    say(f"wrote {out}")


@live_app.command("backup")
@guarded
def backup_cmd(dest: Path = typer.Argument(..., metavar="DEST"),
               db: Path | None = db_option(), who: str | None = as_option()) -> None:
    """A consistent copy of the database, taken while desks keep working (checked)."""
    with open_desk(db, who, readonly=True) as desk:
        path = desk.store.backup(dest)
        events = desk.store.position()
    say(f"backed up {events} events to {path}")


@live_app.command("review")
@guarded
def review_cmd(operation: str = typer.Argument(..., metavar="OPERATION"),
               out: Path | None = typer.Option(None, "--out", help="Folder (default "
                                               "muster-out/review/OPERATION)."),
               penalty: list[str] = typer.Option([], "--penalty", show_default="none", help="TIER=COST of one SLA "
                                                 "breach, e.g. VIP=800."),
               db: Path | None = db_option(), who: str | None = as_option()) -> None:
    """The post-incident review, drafted from the timeline: review.md/.html and a plot."""
    from desk.errors import DeskError
    from desk.review import review
    from tui.live_review import write_review
    penalties = {}
    for pair in penalty:
        tier, eq, cost = pair.partition("=")
        try:
            penalties[tier.strip()] = float(cost)
        except ValueError:
            raise DeskError("--penalty", f"{pair!r}: write TIER=COST, e.g. VIP=800") from None
    with open_desk(db, who, readonly=True) as desk:
        result = review(desk.model, operation, desk.now(), penalties=penalties)
    folder = out if out is not None else Path("muster-out") / "review" / operation
    if folder.exists() and not folder.is_dir():
        raise DeskError(str(folder), "--out must be a folder; this is a file")
    for path in write_review(result, folder):
        say(f"wrote {path}")


@live_app.command("sample")
@guarded
def sample_cmd(month: str | None = typer.Option(None, "--month", help="YYYY-MM (default: last "
                                                "month)."),
               seed: int | None = typer.Option(None, "--seed", help="Default: one derived "
                                               "from the month (reproducible)."),
               share: float = typer.Option(0.05, "--share", help="At least 0.05."),
               dry_run: bool = typer.Option(False, "--dry-run/--no-dry-run", help="Draw it "
                                            "without recording it on the desk's timeline."),
               db: Path | None = db_option(), who: str | None = as_option(),
               as_json: bool = json_option()) -> None:
    """The quality post's monthly sample: at least 5% of the cases closed, at random."""
    from desk.sample import draw, sample_pending
    record = not dry_run
    with open_desk(db, who, readonly=not record) as desk:
        if month is None:
            now = desk.now()
            month = f"{now.year - (now.month == 1)}-{(now.month - 2) % 12 + 1:02d}"
        result = draw(desk.model, month, share=share, seed=seed)
        if record:
            desk.submit([sample_pending(result, desk.operator)])
    if as_json:
        emit_json({"month": result.month, "seed": result.seed, "share": result.share,
                   "closed": len(result.closed), "cases": result.cases})
        return
    say(f"{result.month}: {len(result.cases)} of {len(result.closed)} closed cases "
        f"(seed {result.seed}): {', '.join(result.cases) or 'none'}")


@live_app.command("to-drill")
@guarded
def to_drill_cmd(operation: str = typer.Argument(..., metavar="OPERATION"),
                 out: Path = typer.Option(..., "--out", help="The drill scenario to write "
                                          "(.yaml); its arrivals go beside it."),
                 template: Path | None = typer.Option(None, "--template", help="A scenario "
                                                      "with the organisation (default: the "
                                                      "bundled one for the playbook)."),
                 db: Path | None = db_option(), who: str | None = as_option()) -> None:
    """Turn an operation into a drill: its cases replayed, its key events as injects."""
    from desk.drill_source import operation_source
    from simulation.drills.from_live import write_drill
    from simulation.scenario.loader import resolve_scenario
    with open_desk(db, who, readonly=True) as desk:
        source = operation_source(desk.model, operation, desk.now())
    arrivals = write_drill(source, out, template=None if template is None
                           else resolve_scenario(template))
    say(f"wrote {out} and {arrivals} ({len(source['cases'])} cases, "
        f"{len(source['events'])} key events); play it with `muster drill {out} --script "
        "ACTIONS.yaml` or in the app")


@live_app.command("retention")
@guarded
def retention_cmd(days: int | None = typer.Option(None, "--set", metavar="DAYS",
                                                  show_default="unchanged",
                                                  help="Set it (at least 1096: 3 years)."),
                  db: Path | None = db_option(), who: str | None = as_option()) -> None:
    """How long records are kept at least; and what is past it."""
    from desk.settings import retention_pending
    with open_desk(db, who, readonly=days is None) as desk:
        if days is not None:
            desk.submit([retention_pending(days, desk.operator, str(desk.where))])
        kept = desk.model.settings.retention_days
        now = desk.minute()
        old = [v for v in desk.model.cases.values()
               if v.closed_at is not None and now - v.closed_at > kept * 1440]
    say(f"records are kept at least {kept} days; {len(old)} closed case(s) are past it "
        "(nothing is ever deleted by Muster: export and back up, then archive the database)")
    if old:
        table("past retention", ("case", "closed"), [(v.id, v.closed_at) for v in old[:50]])


@live_app.command("migrate")
@guarded
def migrate_cmd(source: str = typer.Option(..., "--from", metavar="PATH|URL",
                                           help="The store to copy: a file (sqlite:PATH) or "
                                                "postgresql://USER@HOST/DB. Read only."),
                target: str = typer.Option(..., "--to", metavar="PATH|URL",
                                           help="Where to copy it: a new file, or an existing "
                                                "database (its tables are made)."),
                as_json: bool = json_option()) -> None:
    """Copy every event to another back end (SQLite to PostgreSQL, or back), keeping each
    one's position, version, time, actor and key; then check by counts and digests that both
    hold the same history. Again: copies only what is missing (nothing, if it is all there);
    a target holding another history is refused, unchanged."""
    from incidents.store_copy import migrate
    done = migrate(source, target)
    if as_json:
        h = done.history
        emit_json({"source": done.source, "target": done.target, "copied": done.copied,
                   "kept": done.kept, "events": h.events, "streams": h.streams,
                   "position": h.position, "digest": f"sha256:{h.digest}",
                   "behind": done.behind})
    else:
        say(done.message)
