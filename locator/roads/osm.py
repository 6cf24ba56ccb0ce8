"""Reading an OpenStreetMap extract (``.osm.pbf``) into a :class:`RoadNetwork`.

pyrosm reads the drivable ways and splits them into straight segments between nodes;
each segment becomes one edge with its class, one-way direction, ``maxspeed`` and truck
restrictions (``hgv``, ``maxweight``, ``maxheight``), and the profile turns them into
seconds each way (a way the truck may not use is closed both ways).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidParameter, UnsupportedFormat
from .network import CLOSED, RoadNetwork, segment_lengths_m
from .profile import (
    VehicleProfile,
    oneway_direction,
    parse_maxheight,
    parse_maxspeed,
    parse_maxweight,
)

OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
_TAGS = ("hgv", "maxweight", "maxheight", "junction")


def _tag(row: Any, tags: dict[str, Any], name: str) -> Any:
    value = getattr(row, name, None)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        value = tags.get(name)
    return value


def read_osm(
    path: str | Path, *, profile: VehicleProfile | None = None, name: str | None = None
) -> RoadNetwork:
    """The drivable network of an ``.osm.pbf`` file with the costs of ``profile``.

    Raises :class:`UnsupportedFormat` for a file pyrosm cannot read and
    :class:`InvalidParameter` when it holds no drivable way.
    """
    import pyrosm  # heavy; only the road import needs it

    path = Path(path)
    profile = profile or VehicleProfile()
    if not path.is_file():
        raise InvalidParameter(f"no such file: {path}", field="file")
    try:
        reader = pyrosm.OSM(str(path))
        found = reader.get_network(network_type="driving", nodes=True, extra_attributes=list(_TAGS))
    except Exception as error:  # pyrosm raises bare errors on a file it cannot parse
        raise UnsupportedFormat(f"not a readable OpenStreetMap extract: {error}") from error
    if found is None or found[1] is None or not len(found[1]):
        raise InvalidParameter(f"{path.name} holds no drivable road", field="file")
    nodes, edges = found
    index = {int(osm_id): i for i, osm_id in enumerate(nodes["id"].to_numpy())}
    lon = nodes["lon"].to_numpy(dtype=float)
    lat = nodes["lat"].to_numpy(dtype=float)
    source = np.array([index[int(u)] for u in edges["u"]], dtype=np.int64)
    target = np.array([index[int(v)] for v in edges["v"]], dtype=np.int64)
    length = np.maximum(
        edges["length"].to_numpy(dtype=float), segment_lengths_m(lon, lat, source, target)
    )
    count = len(edges)
    cost, reverse = np.empty(count), np.empty(count)
    road_class = np.empty(count, dtype=object)
    hgv = np.empty(count, dtype=object)
    maxspeed, maxweight, maxheight = (
        np.full(count, np.nan),
        np.full(count, np.nan),
        np.full(count, np.nan),
    )
    for i, row in enumerate(edges.itertuples(index=False)):
        tags = json.loads(row.tags) if isinstance(row.tags, str) else {}
        road_class[i] = str(row.highway) if isinstance(row.highway, str) else None
        hgv[i] = _tag(row, tags, "hgv")
        speed_tag = parse_maxspeed(getattr(row, "maxspeed", None))
        weight = parse_maxweight(_tag(row, tags, "maxweight"))
        height = parse_maxheight(_tag(row, tags, "maxheight"))
        maxspeed[i] = np.nan if speed_tag is None else speed_tag
        maxweight[i] = np.nan if weight is None else weight
        maxheight[i] = np.nan if height is None else height
        seconds = length[i] / (profile.speed_kmh(road_class[i], speed_tag) / 3.6)
        direction = oneway_direction(row.oneway, row.highway, _tag(row, tags, "junction"))
        open_ = profile.allows(hgv[i], weight, height)
        cost[i] = seconds if open_ and direction >= 0 else CLOSED
        reverse[i] = seconds if open_ and direction <= 0 else CLOSED
    return RoadNetwork(
        name=name or path.name.removesuffix(".osm.pbf").removesuffix(".pbf"),
        source=f"OpenStreetMap extract {path.name}",
        attribution=OSM_ATTRIBUTION,
        profile=profile.name,
        coarse=False,
        node_lon=lon,
        node_lat=lat,
        edge_source=source,
        edge_target=target,
        length_m=length,
        cost_s=cost,
        reverse_cost_s=reverse,
        road_class=road_class,
        maxspeed_kmh=maxspeed,
        maxweight_t=maxweight,
        maxheight_m=maxheight,
        hgv=hgv,
    )
