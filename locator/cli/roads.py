"""``locator roads``: the road network drive times are computed on."""

from __future__ import annotations

import json

import click

from ..errors import LocatorError
from ..roads import VehicleProfile, read_coarse, read_osm
from . import _fail, _storage


@click.group()
def roads() -> None:
    """Load and inspect the road network (OpenStreetMap extracts, the coarse network)."""


@roads.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--profile", type=click.Choice(["truck"]), default="truck", show_default=True)
@click.option("--speeds", default=None, help='class speeds in km/h, "motorway=80,primary=50"')
@click.option("--name", default=None, help="the network's name (default: the file's)")
@click.pass_context
def import_roads(ctx: click.Context, file: str, profile: str, speeds: str | None, name):
    """Load an OpenStreetMap extract (.osm.pbf) in place of the stored network."""
    settings = ctx.obj["settings"]
    try:
        vehicle = VehicleProfile(name=profile).with_speeds(speeds or settings.road_speeds)
        network = read_osm(file, profile=vehicle, name=name)
        with _storage(ctx) as storage:
            info = storage.replace_road_network(network)
    except LocatorError as exc:
        _fail(exc)
    click.echo(
        f"road network {info.name}: {info.nodes} nodes, {info.edges} edges, "
        f"{info.total_km:.0f} km ({info.profile})"
    )


@roads.command("coarse")
@click.pass_context
def load_coarse(ctx: click.Context):
    """Load the shipped coarse network of Anhui's major roads in place of the stored one."""
    settings = ctx.obj["settings"]
    try:
        vehicle = VehicleProfile().with_speeds(settings.road_speeds)
        with _storage(ctx) as storage:
            info = storage.replace_road_network(read_coarse(settings.geodata_dir, vehicle))
    except LocatorError as exc:
        _fail(exc)
    click.echo(f"road network {info.name} (coarse): {info.nodes} nodes, {info.edges} edges")


@roads.command("status")
@click.option("--json", "as_json", is_flag=True, help="print the status as JSON")
@click.pass_context
def status(ctx: click.Context, as_json: bool):
    """Say which network is loaded: its name, source, extent and size."""
    try:
        with _storage(ctx) as storage:
            info = storage.road_network_info()
    except LocatorError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(info.to_dict() if info else None, ensure_ascii=False, indent=2))
        return
    if info is None:
        click.echo("no road network is loaded: distances are straight-line")
        return
    west, south, east, north = info.extent
    click.echo(f"network: {info.name}{' (coarse: major roads only)' if info.coarse else ''}")
    click.echo(f"source: {info.source}; {info.attribution}")
    click.echo(
        f"profile: {info.profile}; loaded {info.loaded_at.isoformat() if info.loaded_at else '?'}"
    )
    click.echo(f"size: {info.nodes} nodes, {info.edges} edges, {info.total_km:.0f} km")
    click.echo(f"extent: {west:.3f},{south:.3f} – {east:.3f},{north:.3f}")
