"""Cut the coarse Anhui road network out of PyPI's scgraph-data (run once; ~2 minutes).

    pip install scgraph-data==2.0.0
    python geodata/cut_coarse_roads.py

writes ``anhui_roads_coarse_nodes.csv`` and ``anhui_roads_coarse_edges.csv`` next to
this file (see SOURCES.md). The data is OpenStreetMap's (ODbL).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from locator.roads.coarse import ANHUI_BOX, cut_scgraph, read_scgraph, write_coarse


def main() -> int:
    spec = importlib.util.find_spec("scgraph_data")
    if spec is None or not spec.submodule_search_locations:
        print("pip install scgraph-data==2.0.0 first", file=sys.stderr)
        return 1
    module = Path(next(iter(spec.submodule_search_locations))) / "world_highways.py"
    graph, nodes = read_scgraph(module)
    lon, lat, edges = cut_scgraph(graph, nodes, ANHUI_BOX)
    write_coarse(Path(__file__).parent, lon, lat, edges)
    both = sum(1 for *_, oneway in edges if oneway == 0)
    print(f"{len(lon)} nodes, {len(edges)} edges ({both} both ways) from {len(nodes)} nodes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
