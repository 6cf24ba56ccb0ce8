"""The ``locator`` command: init, serve, import, export."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .config import load_settings
from .errors import LocatorError, ValidationFailed
from .storage import open_storage


def _storage(ctx: click.Context):
    settings = ctx.obj["settings"]
    return open_storage(settings.database_url)


def _fail(exc: LocatorError) -> None:
    where = f" [{exc.field}]" if exc.field else ""
    click.echo(f"error{where}: {exc.message}", err=True)
    sys.exit(2)


@click.group()
@click.option("--database", "database_url", envvar="LOCATOR_DATABASE_URL", default=None,
              help="sqlite:///path.db (default instance/locator.db) or postgresql://...")
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """Service-station locator for drivers, and coverage planning for unions."""
    ctx.ensure_object(dict)
    ctx.obj["settings"] = load_settings(database_url=database_url)


@main.command()
@click.option("--geodata", type=click.Path(exists=True, file_okay=False), default=None,
              help="folder of the default data (default: the shipped geodata/)")
@click.pass_context
def init(ctx: click.Context, geodata: str | None) -> None:
    """Build the database from the shipped Anhui data (safe to run again)."""
    from .geodata import load_default_data

    settings = ctx.obj["settings"]
    try:
        with open_storage(settings.database_url) as storage:
            summary = load_default_data(storage, geodata or settings.geodata_dir)
    except LocatorError as exc:
        _fail(exc)
    click.echo(f"database: {settings.database_url}")
    click.echo(f"admin units: {summary.admin_units} (townships with polygon: "
               f"{summary.townships_with_polygon}, with seat point: "
               f"{summary.townships_with_seat})")
    click.echo(f"facilities: {summary.facilities} ({summary.inserted} new, "
               f"{summary.updated} updated); candidate junctions: {summary.candidates}")
    click.echo(f"data version: {summary.data_version}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--debug", is_flag=True, help="reload on code changes")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, debug: bool) -> None:
    """Serve the web app (for production run it under gunicorn: locator.web.wsgi:app)."""
    from .web import create_app

    app = create_app({"LOCATOR_SETTINGS": ctx.obj["settings"]})
    app.run(host=host, port=port, debug=debug, threaded=True)


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", default=None, help="kind of rows that have no kind column")
@click.option("--crs", default="wgs84", show_default=True,
              help="datum of the coordinates: wgs84, gcj02 (Amap/Tencent) or bd09 (Baidu)")
@click.option("--source", default=None, help="provenance name (default: the file name)")
@click.option("--map", "mapping", multiple=True, metavar="FIELD=HEADER",
              help="explicit column mapping, e.g. --map name=站点名称 (repeatable)")
@click.option("--sheet", default=None, help="worksheet of an Excel file")
@click.option("--dry-run", is_flag=True, help="validate and report, write nothing")
@click.option("--skip-invalid", is_flag=True, help="load the valid rows, reject the others")
@click.option("--rejects", type=click.Path(dir_okay=False), default=None,
              help="with --skip-invalid: write rejected rows with reasons (.csv or .xlsx)")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.pass_context
def import_(ctx, file, kind, crs, source, mapping, sheet, dry_run, skip_invalid, rejects,
            as_json, lang):
    """Import facilities from CSV, XLSX, GeoJSON, GeoPackage or zipped Shapefile.

    All or nothing by default: any invalid row rejects the whole file, with a
    row-by-row report, and nothing stored changes.
    """
    from .ingest import ImportReport, import_file

    if rejects and not skip_invalid:
        raise click.UsageError("--rejects goes with --skip-invalid")
    explicit = {}
    for item in mapping:
        field, sep, header = item.partition("=")
        if not sep or not field.strip() or not header.strip():
            raise click.UsageError(f"--map takes FIELD=HEADER, got {item!r}")
        explicit[field.strip()] = header.strip()
    with _storage(ctx) as storage:
        try:
            report = import_file(storage, Path(file), kind=kind, crs=crs, source=source,
                                 mapping=explicit or None, dry_run=dry_run,
                                 skip_invalid=skip_invalid,
                                 rejects=Path(rejects) if rejects else None, sheet=sheet,
                                 lang=lang)
        except ValidationFailed as exc:
            if as_json:
                click.echo(json.dumps(exc.to_dict(), ensure_ascii=False, indent=2))
            else:
                click.echo(ImportReport.from_dict(exc.details).format_text(lang), err=True)
            sys.exit(1)
        except LocatorError as exc:
            _fail(exc)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(report.format_text(lang))


@main.command()
@click.option("--format", "fmt", type=click.Choice(["geojson", "csv", "xlsx", "gpkg"]),
              default=None, help="default: from the file extension")
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@click.option("--crs", default="wgs84", show_default=True, help="datum of the coordinates")
@click.option("--kind", multiple=True, help="only these kinds (repeatable)")
@click.option("--status", multiple=True, help="only these statuses (repeatable)")
@click.option("--city", default=None)
@click.option("--county", default=None)
@click.option("--township", default=None)
@click.pass_context
def export(ctx, fmt, out, crs, kind, status, city, county, township):
    """Export facilities as GeoJSON, CSV, XLSX or GeoPackage."""
    from .catalog import Catalog, parse_filter
    from .export import export_facilities

    args = {"kind": list(kind), "status": list(status)}
    args.update({k: v for k, v in (("city", city), ("county", county),
                                   ("township", township)) if v})
    try:
        flt = parse_filter(_MultiArgs(args))
        with _storage(ctx) as storage:
            catalog = Catalog.from_storage(storage)
        chosen = [f for f, keep in zip(catalog.facilities, catalog.mask(flt), strict=True)
                  if keep]
        export_facilities(chosen, Path(out), fmt, crs=crs)
    except LocatorError as exc:
        _fail(exc)
    click.echo(f"exported {len(chosen)} facilities to {out}")


class _MultiArgs(dict):
    """A dict that answers ``getlist`` like a query string."""

    def getlist(self, key):
        value = self.get(key)
        if value is None:
            return []
        return list(value) if isinstance(value, list | tuple) else [value]


if __name__ == "__main__":  # pragma: no cover
    main()
