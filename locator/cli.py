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
    from .catalog import Catalog
    from .export import export_facilities
    from .params import Args, parse_filter

    args = {"kind": list(kind), "status": list(status)}
    args.update({k: v for k, v in (("city", city), ("county", county),
                                   ("township", township)) if v})
    try:
        flt = parse_filter(Args(args))
        with _storage(ctx) as storage:
            catalog = Catalog.from_storage(storage)
        chosen = [f for f, keep in zip(catalog.facilities, catalog.mask(flt), strict=True)
                  if keep]
        export_facilities(chosen, Path(out), fmt, crs=crs)
    except LocatorError as exc:
        _fail(exc)
    click.echo(f"exported {len(chosen)} facilities to {out}")


@main.command()
@click.option("--lon", required=True, help="longitude of the driver")
@click.option("--lat", required=True, help="latitude of the driver")
@click.option("--k", default="5", show_default=True, help="how many (1-50)")
@click.option("--kind", multiple=True, help="kinds (repeatable)")
@click.option("--amenity", multiple=True, help="amenities that must all be there (repeatable)")
@click.option("--status", multiple=True, help="statuses (default: open; 'any' for all)")
@click.option("--open-now", is_flag=True, help="only facilities open now (Asia/Shanghai)")
@click.option("--max-km", default=None, help="search radius in km")
@click.option("--min-truck-parking", default=None, help="minimum truck parking spaces")
@click.option("--crs", default="wgs84", show_default=True, help="datum of --lon/--lat")
@click.option("--json", "as_json", is_flag=True, help="print GeoJSON")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.pass_context
def nearest(ctx, lon, lat, k, kind, amenity, status, open_now, max_km, min_truck_parking, crs,
            as_json, lang):
    """The nearest facilities to a point, as a table or GeoJSON."""
    from .catalog import Catalog
    from .geojson import feature_collection
    from .hours import OPEN_STATE_LABELS
    from .maps import label
    from .model import KINDS
    from .nearest import DriveEstimate
    from .params import Args, parse_nearest

    settings = ctx.obj["settings"]
    args = Args({"lon": lon, "lat": lat, "k": k, "kind": list(kind), "amenity": list(amenity),
                 "status": list(status), "open_now": open_now or None, "max_km": max_km,
                 "min_truck_parking": min_truck_parking, "crs": crs})
    try:
        request = parse_nearest(args)
        with _storage(ctx) as storage:
            catalog = Catalog.from_storage(storage)
    except LocatorError as exc:
        _fail(exc)
    estimate = DriveEstimate(settings.drive_detour_factor, settings.drive_speed_kmh)
    hits = catalog.nearest_index(estimate).nearest(**request)
    if as_json:
        body = feature_collection([])
        body["features"] = [hit.to_feature() for hit in hits]
        body["numberMatched"] = body["numberReturned"] = len(hits)
        body["drive_time"] = estimate.describe()
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    if not hits:
        click.echo("没有找到符合条件的站点" if lang == "zh" else "no facility matches")
        return
    head = (("距离", "方位", "约需(分钟)", "状态", "类型", "名称", "所在地") if lang == "zh" else
            ("distance", "bearing", "~minutes", "open", "kind", "name", "area"))
    click.echo("\t".join(head))
    for hit in hits:
        f = hit.facility
        area = " ".join(filter(None, (f.city, f.county, f.township)))
        click.echo("\t".join([
            f"{hit.distance_m / 1000:.2f} km", f"{hit.bearing_deg:.0f}°",
            f"{hit.drive_minutes:.0f}", label(OPEN_STATE_LABELS, hit.open_state, lang),
            label(KINDS, f.kind, lang), f.name, area]))
    click.echo(("约需时间按直线距离 × {:.1f}、时速 {:.0f} km 估算" if lang == "zh" else
                "minutes are an estimate: straight line x {:.1f} at {:.0f} km/h").format(
        estimate.detour_factor, estimate.speed_kmh))


if __name__ == "__main__":  # pragma: no cover
    main()
