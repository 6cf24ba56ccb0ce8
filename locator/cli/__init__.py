"""The ``locator`` command: init, serve, import, export, nearest, coverage, plan, user."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..clock import local_now, local_today
from ..config import load_settings
from ..errors import LocatorError, ValidationFailed
from ..storage import open_storage


def _storage(ctx: click.Context):
    """The configured storage, its tables checked to be of this version."""
    settings = ctx.obj["settings"]
    storage = open_storage(settings.database_url, clock=settings.clock())
    try:
        storage.check_schema()
    except LocatorError as exc:
        storage.close()
        _fail(exc)
    return storage


def _fail(exc: LocatorError) -> None:
    where = f" [{exc.field}]" if exc.field else ""
    click.echo(f"error{where}: {exc.message}", err=True)
    sys.exit(2)


@click.group()
@click.option(
    "--database",
    "database_url",
    envvar="LOCATOR_DATABASE_URL",
    default=None,
    help="sqlite:///path.db (default instance/locator.db) or postgresql://...",
)
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """Service-station locator for drivers, and coverage planning for unions."""
    ctx.ensure_object(dict)
    ctx.obj["settings"] = load_settings(database_url=database_url)


@main.command()
@click.option(
    "--geodata",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="folder of the default data (default: the shipped geodata/)",
)
@click.pass_context
def init(ctx: click.Context, geodata: str | None) -> None:
    """Build the database from the shipped Anhui data (safe to run again)."""
    from ..geodata import load_default_data
    from ..roads import VehicleProfile

    settings = ctx.obj["settings"]
    try:
        profile = VehicleProfile().with_speeds(settings.road_speeds)
        with open_storage(settings.database_url, clock=settings.clock()) as storage:
            summary = load_default_data(storage, geodata or settings.geodata_dir, profile=profile)
    except LocatorError as exc:
        _fail(exc)
    click.echo(f"database: {settings.database_url}")
    click.echo(
        f"admin units: {summary.admin_units} (townships with polygon: "
        f"{summary.townships_with_polygon}, with seat point: "
        f"{summary.townships_with_seat})"
    )
    click.echo(
        f"facilities: {summary.facilities} ({summary.inserted} new, "
        f"{summary.updated} updated); candidate junctions: {summary.candidates}"
    )
    click.echo(f"data version: {summary.data_version}")
    if summary.road_network:
        state = "loaded" if summary.road_network_loaded else "kept"
        click.echo(f"road network: {summary.road_network} ({state}; see `locator roads status`)")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--debug",
    is_flag=True,
    help="development only, with --host 127.0.0.1: reload on code changes and "
    "show werkzeug's interactive debugger, which runs any Python code typed "
    "into an error page",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, debug: bool) -> None:
    """Serve the web app (for production run it under gunicorn: locator.web.wsgi:app)."""
    from ..web import create_app
    from ..web.server import serve as run

    try:
        app = create_app({"LOCATOR_SETTINGS": ctx.obj["settings"]})
        run(app, host, port, debug=debug)
    except LocatorError as exc:
        _fail(exc)


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", default=None, help="kind of rows that have no kind column")
@click.option(
    "--crs",
    default="wgs84",
    show_default=True,
    help="datum of the coordinates: wgs84, gcj02 (Amap/Tencent) or bd09 (Baidu)",
)
@click.option("--source", default=None, help="provenance name (default: the file name)")
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="FIELD=HEADER",
    help="explicit column mapping, e.g. --map name=站点名称 (repeatable)",
)
@click.option("--sheet", default=None, help="worksheet of an Excel file")
@click.option("--dry-run", is_flag=True, help="validate and report, write nothing")
@click.option("--skip-invalid", is_flag=True, help="load the valid rows, reject the others")
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False),
    default=None,
    help="with --skip-invalid: write rejected rows with reasons (.csv or .xlsx)",
)
@click.option(
    "--compare",
    is_flag=True,
    help="compare the file with what is stored (new, changed, unchanged, likely duplicates, "
    "missing from the file) and write nothing",
)
@click.option(
    "--close-missing",
    is_flag=True,
    help="sync: apply the comparison's proposals (add, update, merge likely duplicates) and "
    "close the stored stations the file no longer lists, in one transaction",
)
@click.option(
    "--area",
    "areas",
    multiple=True,
    metavar="CODE",
    help="with --compare/--close-missing: the city or county codes the file should cover "
    "(default: the counties its rows lie in; repeatable)",
)
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.pass_context
def import_(
    ctx,
    file,
    kind,
    crs,
    source,
    mapping,
    sheet,
    dry_run,
    skip_invalid,
    rejects,
    compare,
    close_missing,
    areas,
    as_json,
    lang,
):
    """Import facilities from CSV, XLSX, GeoJSON, GeoPackage or zipped Shapefile.

    All or nothing by default: any invalid row rejects the whole file, with a
    row-by-row report, and nothing stored changes. With --compare, print how the file
    differs from what is stored; with --close-missing, apply that sync.
    """
    from ..ingest import ImportReport, import_file

    if rejects and not skip_invalid:
        raise click.UsageError("--rejects goes with --skip-invalid")
    if areas and not (compare or close_missing):
        raise click.UsageError("--area goes with --compare or --close-missing")
    explicit = {}
    for item in mapping:
        field, sep, header = item.partition("=")
        if not sep or not field.strip() or not header.strip():
            raise click.UsageError(f"--map takes FIELD=HEADER, got {item!r}")
        explicit[field.strip()] = header.strip()
    if compare or close_missing:
        options = {"kind": kind, "crs": crs, "source": source, "mapping": explicit or None}
        _sync(
            ctx,
            Path(file),
            options,
            sheet,
            list(areas),
            close_missing and not dry_run,
            skip_invalid,
            as_json,
            lang,
        )
        return
    with _storage(ctx) as storage:
        try:
            report = import_file(
                storage,
                Path(file),
                kind=kind,
                crs=crs,
                source=source,
                mapping=explicit or None,
                dry_run=dry_run,
                skip_invalid=skip_invalid,
                rejects=Path(rejects) if rejects else None,
                sheet=sheet,
                lang=lang,
            )
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


def _sync(ctx, path, options, sheet, areas, apply, skip_invalid, as_json, lang):
    """``locator import --compare`` (print) and ``--close-missing`` (apply)."""
    from ..ingest import ImportReport
    from ..sync import apply_sync, compare_file, format_comparison

    with _storage(ctx) as storage:
        try:
            comparison = compare_file(storage, path, sheet=sheet, scope=areas or None, **options)
            result = None
            if apply:
                result = apply_sync(
                    storage,
                    comparison,
                    close=[f.id for f in comparison.missing],
                    actor=f"import:{path.name}",
                    skip_invalid=skip_invalid,
                )
        except ValidationFailed as exc:
            if as_json:
                click.echo(json.dumps(exc.to_dict(), ensure_ascii=False, indent=2))
            elif exc.details:
                click.echo(ImportReport.from_dict(exc.details).format_text(lang), err=True)
            else:
                _fail(exc)
            sys.exit(1)
        except LocatorError as exc:
            _fail(exc)
    if as_json:
        answer = comparison.to_dict()
        if result is not None:
            answer["applied"] = {**result.counts(), "data_version": result.data_version}
        click.echo(json.dumps(answer, ensure_ascii=False, indent=2))
        return
    click.echo(format_comparison(comparison, lang))
    if comparison.report.errors:
        click.echo(comparison.report.format_text(lang))
    if result is None:
        click.echo(
            "仅比对，未写入任何数据。" if lang == "zh" else "Compared only; nothing written."
        )
        return
    n = result.counts()
    click.echo(
        f"已写入：新增 {n['added']} 条，更新 {n['updated']} 条，合并 {n['merged']} 条，"
        f"关闭 {n['closed']} 条，跳过 {n['skipped']} 条。"
        if lang == "zh"
        else f"Written: {n['added']} added, {n['updated']} updated, {n['merged']} merged, "
        f"{n['closed']} closed, {n['skipped']} skipped."
    )


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["geojson", "csv", "xlsx", "gpkg"]),
    default=None,
    help="default: from the file extension",
)
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@click.option("--crs", default="wgs84", show_default=True, help="datum of the coordinates")
@click.option("--kind", multiple=True, help="only these kinds (repeatable)")
@click.option("--status", multiple=True, help="only these statuses (repeatable)")
@click.option("--city", default=None)
@click.option("--county", default=None)
@click.option("--township", default=None)
@click.option(
    "--headers",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="CSV/XLSX/GPKG: Chinese headers and labels (import back from Excel), or field names",
)
@click.pass_context
def export(ctx, fmt, out, crs, kind, status, city, county, township, headers):
    """Export facilities as GeoJSON, CSV, XLSX or GeoPackage."""
    from ..catalog import Catalog
    from ..export import export_facilities
    from ..params import Args, parse_filter

    args = {"kind": list(kind), "status": list(status)}
    args.update(
        {k: v for k, v in (("city", city), ("county", county), ("township", township)) if v}
    )
    try:
        flt = parse_filter(Args(args))
        with _storage(ctx) as storage:
            catalog = Catalog.from_storage(storage)
        chosen = [
            catalog.stored(f)  # as stored: no derived names in a file meant to come back
            for f, keep in zip(catalog.facilities, catalog.mask(flt), strict=True)
            if keep
        ]
        export_facilities(chosen, Path(out), fmt, crs=crs, headers=headers)
    except LocatorError as exc:
        _fail(exc)
    click.echo(f"exported {len(chosen)} facilities to {out}")


@main.command()
@click.option("--lon", required=True, help="longitude of the driver")
@click.option("--lat", required=True, help="latitude of the driver")
@click.option("--k", default="5", show_default=True, help="how many (1-50)")
@click.option(
    "--kind",
    multiple=True,
    help="kinds (repeatable; default: places to stop, no logistics parks; 'any' for all)",
)
@click.option("--amenity", multiple=True, help="amenities that must all be there (repeatable)")
@click.option("--status", multiple=True, help="statuses (default: open; 'any' for all)")
@click.option("--open-now", is_flag=True, help="only facilities open now (Asia/Shanghai)")
@click.option("--max-km", default=None, help="search radius in km")
@click.option("--min-truck-parking", default=None, help="minimum truck parking spaces")
@click.option("--crs", default="wgs84", show_default=True, help="datum of --lon/--lat")
@click.option("--json", "as_json", is_flag=True, help="print GeoJSON")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.pass_context
def nearest(
    ctx, lon, lat, k, kind, amenity, status, open_now, max_km, min_truck_parking, crs, as_json, lang
):
    """The nearest places to stop (a paired service area once), as a table or GeoJSON."""
    from ..catalog import Catalog
    from ..geojson import feature_collection
    from ..hours import open_state_label
    from ..maps import label
    from ..messages import Message
    from ..model import KINDS
    from ..nearest import DriveEstimate
    from ..params import Args, NearestRequest
    from ..service_areas import SIDES

    settings = ctx.obj["settings"]
    args = Args(
        {
            "lon": lon,
            "lat": lat,
            "k": k,
            "kind": list(kind),
            "amenity": list(amenity),
            "status": list(status),
            "open_now": open_now or None,
            "max_km": max_km,
            "min_truck_parking": min_truck_parking,
            "crs": crs,
        }
    )
    try:
        wanted = NearestRequest.from_args(args)
        with _storage(ctx) as storage:
            catalog = Catalog.from_storage(storage)
    except LocatorError as exc:
        _fail(exc)
    estimate = DriveEstimate.from_settings(settings)
    index, now = catalog.nearest_index(estimate), settings.clock()()
    hits = wanted.search(index, now)
    amenity_data = wanted.amenity_data(index, hits, now)
    if as_json:
        body = feature_collection([])
        body["features"] = [hit.to_feature() for hit in hits]
        body["numberMatched"] = body["numberReturned"] = len(hits)
        body["drive_time"] = estimate.describe()
        body["amenity_data"] = amenity_data
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    asked = amenity_data["with"]
    if asked and not amenity_data["with_data"]:
        click.echo(Message("nearby_no_amenity_data", amenities=sorted(asked)).translated(lang))
    if not hits:
        click.echo("没有找到符合条件的站点" if lang == "zh" else "no facility matches")
        return
    head = (
        ("距离", "方位", "约需(分钟)", "状态", "类型", "名称", "所在地")
        if lang == "zh"
        else ("distance", "bearing", "~minutes", "open", "kind", "name", "area")
    )
    click.echo("\t".join(head))
    for hit in hits:
        f = hit.facility
        area = " ".join(filter(None, (f.city, f.county, f.township)))
        name = hit.to_feature()["properties"]["name"]  # a paired service area: its place
        if hit.sides_matched > 1:
            name += f"（{Message('both_directions').translated(lang)}）"
        elif hit.sides_matched == 1:
            place = catalog.places.place_of(f.id)
            side = next((s for s in place.sides if s.id == f.id), None) if place else None
            if side is not None and (side.direction or side.side):
                where = side.direction or SIDES[side.side][lang]
                name += f"（{Message('one_side_only', side=where).translated(lang)}）"
        click.echo(
            "\t".join(
                [
                    f"{hit.distance_m / 1000:.2f} km",
                    f"{hit.bearing_deg:.0f}°",
                    f"{hit.drive_minutes:.0f}",
                    open_state_label(hit.open_state, lang, f.closed_until),
                    label(KINDS, f.kind, lang),
                    name,
                    area,
                ]
            )
        )
    click.echo(
        (
            "约需时间按直线距离 × {:.1f}、时速 {:.0f} km 估算"
            if lang == "zh"
            else "minutes are an estimate: straight line x {:.1f} at {:.0f} km/h"
        ).format(estimate.detour_factor, estimate.speed_kmh)
    )


# ---- coverage planning ----------------------------------------------------------------------
def _coverage_options(function):
    """--city, --county, --radius-km, --kind, --weight (shared by coverage and plan)."""
    for option in reversed(
        [
            click.option("--city", default=None, help="city name (合肥市) or code (340100)"),
            click.option("--county", default=None, help="county name or code"),
            click.option(
                "--radius-km", default="5", show_default=True, help="service radius in km (0-100]"
            ),
            click.option(
                "--kind",
                multiple=True,
                help="kinds that count (repeatable; default: the driver-serving kinds)",
            ),
            click.option(
                "--weight",
                default="population",
                show_default=True,
                help="demand weight: population or transport_workers",
            ),
        ]
    ):
        function = option(function)
    return function


def _planning_input(ctx, city, county, radius_km, kind, weight):
    """The planner of the stored data and the area the options ask for."""
    from ..params import Args
    from ..planner import CoverageRequest, Planner
    from ..planning import PlanningData

    area = CoverageRequest.from_args(
        Args(
            {
                "city": city,
                "county": county,
                "radius_km": radius_km,
                "kind": list(kind),
                "weight": weight,
            }
        )
    )
    with _storage(ctx) as storage:
        planner = Planner(PlanningData.from_storage(storage))
    planner.check_area(area)
    return planner, area


_OUT_FORMATS = {".xlsx": "xlsx", ".csv": "csv", ".geojson": "geojson", ".json": "geojson"}


def _out_format(out: str) -> str:
    from ..errors import InvalidParameter

    suffix = Path(out).suffix.lower()
    if suffix not in _OUT_FORMATS:
        raise InvalidParameter(
            f"--out must end in .xlsx, .csv or .geojson, not {suffix or '(none)'!r}", field="out"
        )
    return _OUT_FORMATS[suffix]


def _echo_table(headers, rows) -> None:
    click.echo("\t".join(headers))
    for row in rows:
        click.echo("\t".join(row))


def _share(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@main.command()
@_coverage_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="also write the tables: .xlsx (every table), .csv (townships) or .geojson",
)
@click.option("--json", "as_json", is_flag=True, help="print the rollups as JSON")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.pass_context
def coverage(ctx, city, county, radius_km, kind, weight, out, as_json, lang):
    """Township coverage of a city, a county or the province: rollups, gaps, downloads."""
    from .. import planning, reports

    try:
        fmt = _out_format(out) if out else None
        planner, area = _planning_input(ctx, city, county, radius_km, kind, weight)
        report = planner.coverage(area)
        if out:
            _write_coverage(
                Path(out), fmt, planner.data, report, None, lang, ctx.obj["settings"].clock()
            )
    except LocatorError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(planning.coverage_summary(report), ensure_ascii=False, indent=2))
    else:
        level = "city" if report.area is None else "county"
        table = reports.rollup_table(report, level, lang)
        keys = (
            "name",
            "townships",
            "located",
            "unlocated",
            "covered",
            "uncovered",
            "covered_share",
            "demand_share",
            "facilities",
        )
        columns = [c for c in table.columns if c.key in keys]
        _echo_table(
            [c.header(lang) for c in columns],
            [
                [
                    _share(row[c.key])
                    if c.key.endswith("share")
                    else ("" if row[c.key] is None else str(row[c.key]))
                    for c in columns
                ]
                for row in table.rows
            ],
        )
        gaps = report.gaps[:10]
        if gaps:
            click.echo("")
            click.echo("缺口最大的乡镇：" if lang == "zh" else "Largest gaps:")
            for row in gaps:
                nearest = "—" if row.nearest_m is None else f"{row.nearest_m / 1000:.1f} km"
                click.echo(
                    f"  {row.gap_rank}. {row.county or ''} {row.name}\t{nearest}\t"
                    f"{row.demand - row.demand_covered:,.0f}"
                )
        unlocated = len(report.unlocated)
        if unlocated:
            click.echo(
                f"未定位乡镇 {unlocated} 个（无边界和驻地坐标），已列入下载表格"
                if lang == "zh"
                else f"{unlocated} townships not located (no polygon or seat): listed in the tables"
            )
    if out:
        click.echo(f"wrote {out}", err=True)


def _write_coverage(path, fmt, data, report, result, lang, clock) -> None:
    from .. import planning, reports

    if fmt == "geojson":
        body = (
            reports.sites_geojson(result)
            if result is not None
            else reports.townships_geojson(report, data.units)
        )
        path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    elif fmt == "csv":
        table = (
            reports.site_table(result, lang)
            if result is not None
            else reports.township_table(report, lang)
        )
        path.write_bytes(reports.table_csv(table, lang).encode("utf-8"))
    else:
        city = None
        if report.area is not None:
            unit = report.area
            while unit is not None and unit.level != "city":
                unit = data.by_code.get(unit.parent_code) if unit.parent_code else None
            city = unit.code if unit is not None else None
        points = planning.progress_totals(
            planning.progress(data, report.params, city=city, end=local_today(clock)), city
        )
        tables = reports.all_tables(report, result, points, lang)
        about = reports.report_about(
            report, result, lang, generated=local_now(clock), data_version=data.data_version
        )
        reports.write_workbook(tables, path, lang, about)


class _StageBar:
    """A progress bar on stderr for long plans (silent when stderr is not a terminal)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, stage: str, share: float) -> None:
        if not self.enabled:
            return
        done = int(share * 30)
        end = "\n" if share >= 1 else ""
        click.echo(
            f"\r[{'#' * done}{' ' * (30 - done)}] {share * 100:3.0f}% {stage:<10}",
            err=True,
            nl=False,
        )
        if end:
            click.echo("", err=True)


@main.command()
@click.option("--sites", required=True, type=int, help="how many new sites to suggest")
@_coverage_options
@click.option(
    "--candidates",
    default="seats",
    show_default=True,
    help="seats, logistics, service_areas, junctions, grid, or a file "
    "(CSV/XLSX/GeoJSON with lon/lat and an optional name)",
)
@click.option(
    "--crs",
    default="wgs84",
    show_default=True,
    help="datum of a candidates file: wgs84, gcj02 or bd09",
)
@click.option(
    "--demand", type=click.Choice(["townships", "grid"]), default="townships", show_default=True
)
@click.option("--resolution", type=int, default=None, help="H3 resolution of the grid (5-10)")
@click.option(
    "--method", type=click.Choice(["auto", "greedy", "exact"]), default="auto", show_default=True
)
@click.option(
    "--set-cover",
    is_flag=True,
    help="also the fewest sites that reach every reachable demand point",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="write the sites: .xlsx (with the coverage tables), .csv or .geojson",
)
@click.option("--json", "as_json", is_flag=True, help="print the plan as JSON")
@click.option(
    "--progress/--no-progress",
    "show_progress",
    default=None,
    help="progress bar on stderr (default: when stderr is a terminal)",
)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.pass_context
def plan(
    ctx,
    sites,
    city,
    county,
    radius_km,
    kind,
    weight,
    candidates,
    crs,
    demand,
    resolution,
    method,
    set_cover,
    out,
    as_json,
    show_progress,
    lang,
):
    """Where N new sites would cover the most demand (existing facilities stay)."""
    from .. import planning, reports
    from ..errors import InvalidParameter
    from ..planner import PlanRequest
    from ..planning import CANDIDATE_SOURCES

    bar = _StageBar(sys.stderr.isatty() if show_progress is None else show_progress)
    try:
        fmt = _out_format(out) if out else None
        if resolution is not None and resolution not in range(5, 11):
            raise InvalidParameter("resolution must be between 5 and 10", field="resolution")
        planner, area = _planning_input(ctx, city, county, radius_km, kind, weight)
        if candidates in CANDIDATE_SOURCES:
            chosen: str | planning.CandidateSet = candidates
        elif Path(candidates).is_file():
            chosen = planning.read_candidates(Path(candidates), crs=crs)
        else:
            raise InvalidParameter(
                f"--candidates must be one of {', '.join(CANDIDATE_SOURCES)} or a file; "
                f"{candidates!r} is neither",
                field="candidates",
            )
        result = planner.plan(
            PlanRequest(
                area,
                sites=sites,
                candidates=chosen,
                demand=demand,
                method=method,
                set_cover=set_cover,
                resolution=resolution,
            ),
            on_progress=bar,
        )
        report = planner.coverage(area)
        if out:
            _write_coverage(
                Path(out), fmt, planner.data, report, result, lang, ctx.obj["settings"].clock()
            )
    except LocatorError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        table = reports.site_table(result, lang)
        keys = (
            "rank",
            "name",
            "county",
            "township",
            "lon",
            "lat",
            "added",
            "cumulative",
            "share_after",
        )
        columns = [c for c in table.columns if c.key in keys]
        if not result.sites:
            click.echo(
                "没有能增加覆盖的候选点" if lang == "zh" else "no candidate adds uncovered demand"
            )
        else:
            _echo_table(
                [c.header(lang) for c in columns],
                [
                    [
                        _share(row[c.key])
                        if c.key == "share_after"
                        else f"{row[c.key]:.6f}"
                        if c.key in ("lon", "lat")
                        else f"{row[c.key]:,.0f}"
                        if c.key in ("added", "cumulative")
                        else ("" if row[c.key] is None else str(row[c.key]))
                        for c in columns
                    ]
                    for row in table.rows
                ],
            )
        summary = (
            f"需求覆盖率 {_share(result.share_before)} → {_share(result.share_after)}；"
            f"方法 {result.method}{'（最优）' if result.optimal else ''}；"
            f"需求点 {result.demand_points}，候选点 {result.candidates}"
            if lang == "zh"
            else f"demand covered {_share(result.share_before)} → "
            f"{_share(result.share_after)}; method {result.method}"
            f"{' (optimal)' if result.optimal else ''}; {result.demand_points} demand "
            f"points, {result.candidates} candidates"
        )
        click.echo(summary)
        check = result.check_dict()
        if check is not None:
            click.echo(
                f"按覆盖率规则（乡镇面积在服务半径内的比例）核算：需求覆盖率 "
                f"{_share(check['share_before'])} → {_share(check['share_after'])}，"
                f"新增覆盖乡镇 {check['added_covered_townships']} 个"
                if lang == "zh"
                else f"by the coverage rules (share of township area within reach): demand "
                f"covered {_share(check['share_before'])} → "
                f"{_share(check['share_after'])}, "
                f"{check['added_covered_townships']} more townships covered"
            )
        if result.set_cover is not None:
            click.echo(
                f"覆盖全部可达需求至少需要 {len(result.set_cover.sites)} 处新站点"
                if lang == "zh"
                else f"{len(result.set_cover.sites)} new sites reach every reachable demand point"
            )
    if out:
        click.echo(f"wrote {out}", err=True)


from .roads import roads  # noqa: E402 - they use the helpers above
from .users import user  # noqa: E402

main.add_command(user)
main.add_command(roads)
