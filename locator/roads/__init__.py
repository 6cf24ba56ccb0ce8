"""Road networks and drive times: the network model, its readers and the engines."""

from .coarse import COARSE_NAME, read_coarse
from .network import CLOSED, RoadNetwork
from .osm import read_osm
from .profile import VehicleProfile

__all__ = ["CLOSED", "COARSE_NAME", "RoadNetwork", "VehicleProfile", "read_coarse", "read_osm"]
