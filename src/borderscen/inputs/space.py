"""The border-zone network (ODD: entities, spatial scale).

Zones are the places the sources name; routes are the roads, crossings and desert tracks between
them. The map is immutable and shared by all runs; each model builds its own Mesa ``Network``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np

from borderscen.errors import read_toml

if TYPE_CHECKING:
    from mesa.discrete_space import Network

COUNTRIES = ("iraq", "syria")
HOLDERS = ("iraqi_forces", "pmf", "peshmerga", "sdf", "damascus")


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    country: str
    lat: float
    lon: float
    terrain: str
    holder: str
    susceptible: float
    isis_share: float
    crossing: str = ""
    base: str = ""
    camp: str = ""
    corridor: bool = False
    pipeline: bool = False


@dataclass(frozen=True)
class Route:
    a: str
    b: str
    kind: str  # road | crossing | track
    smuggling: bool = False


class BorderMap:
    """Zones, routes and the array views of them the vectorised mechanisms use."""

    def __init__(self, zones: list[Zone], routes: list[Route]):
        self.zones = tuple(zones)
        self.routes = tuple(routes)
        self.ids = tuple(z.id for z in zones)
        self.index = {z: i for i, z in enumerate(self.ids)}
        self.graph = nx.Graph()
        for z in zones:
            self.graph.add_node(z.id, zone=z)
        for r in routes:
            self.graph.add_edge(r.a, r.b, kind=r.kind, smuggling=r.smuggling,
                                cross_border=self.zone(r.a).country != self.zone(r.b).country)
        self._build_arrays()

    def zone(self, zid: str) -> Zone:
        return self.zones[self.index[zid]]

    def _build_arrays(self) -> None:
        zs = self.zones
        self.n = len(zs)
        self.is_syria = np.array([z.country == "syria" for z in zs])
        self.is_desert = np.array([z.terrain == "desert" for z in zs])
        self.is_corridor = np.array([z.corridor for z in zs])
        self.is_pipeline = np.array([z.pipeline for z in zs])
        self.susceptible = np.array([z.susceptible for z in zs], dtype=float)
        self.hospitality = self.susceptible / self.susceptible.max()
        share = np.array([z.isis_share for z in zs], dtype=float)
        self.isis_share = share / share.sum()
        self.holder = np.array([HOLDERS.index(z.holder) for z in zs])
        self.held_by = {h: self.holder == i for i, h in enumerate(HOLDERS)}
        self.iraqi_state = ~self.is_syria  # zones where Baghdad's forces operate
        # border zones: one end of a cross-border route (where joint operations and sharing act)
        self.is_border = np.zeros(self.n, bool)
        for a, b, d in self.graph.edges(data=True):
            if d["cross_border"]:
                self.is_border[[self.index[a], self.index[b]]] = True
        # neighbours padded to the largest degree, for vectorised movement
        deg = max(dict(self.graph.degree).values())
        self.nbr = np.zeros((self.n, deg), int)
        self.nbr_mask = np.zeros((self.n, deg), bool)
        self.nbr_cross = np.zeros((self.n, deg), bool)
        for i, zid in enumerate(self.ids):
            for j, other in enumerate(sorted(self.graph.neighbors(zid), key=self.index.__getitem__)):
                self.nbr[i, j] = self.index[other]
                self.nbr_mask[i, j] = True
                self.nbr_cross[i, j] = self.graph.edges[zid, other]["cross_border"]
        hops = dict(nx.all_pairs_shortest_path_length(self.graph))
        self.hops = np.array([[hops[a][b] for b in self.ids] for a in self.ids], dtype=float)
        self.smuggling_routes = tuple(r for r in self.routes if r.smuggling)
        self.route_ends = np.array([[self.index[r.a], self.index[r.b]]
                                    for r in self.smuggling_routes])
        self.route_is_crossing = np.array([r.kind == "crossing" for r in self.smuggling_routes])

    def positions(self) -> dict[str, tuple[float, float]]:
        """Approximate (lon, lat) of each zone, for maps."""
        return {z.id: (z.lon, z.lat) for z in self.zones}

    def network(self, random) -> Network:
        """A fresh Mesa network space over the zones (one per model)."""
        from mesa.discrete_space import Network  # only the Mesa face needs Mesa: batches start faster

        return Network(self.graph, random=random, layout=self.positions())


def _load(path: Path) -> BorderMap:
    data = read_toml(path)
    return BorderMap([Zone(**z) for z in data["zone"]], [Route(**r) for r in data["route"]])


@functools.cache
def border_map() -> BorderMap:
    """The shipped map (zones.toml), built once per process."""
    return _load(Path(str(resources.files("borderscen") / "data" / "zones.toml")))
