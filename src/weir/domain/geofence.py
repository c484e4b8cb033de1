"""Geofencing: which SFU node regions a call may use, from its settings' ``geofencing.names``.

A node says its region (``weir sfu --region``) as a short code; the seed's geofences are named sets of countries.
``REGION_FENCES`` ties the two (docs/decisions.md): an inclusion fence admits the regions listed for it, an
exclusion fence removes them. With inclusion fences the eligible regions are their union; with none, every region
(a node in a region the table doesn't know too); the exclusion fences' regions are then taken out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

__all__ = ["EXCLUSION_FENCES", "REGION_FENCES", "fence_names", "region_allowed"]

REGION_FENCES: Mapping[str, frozenset[str]] = {
    "european_union": frozenset({"eu"}),
    "united_states": frozenset({"us"}),
    "canada": frozenset({"ca"}),
    "united_kingdom": frozenset({"uk"}),
    "india": frozenset({"in"}),
    "china_exclusion": frozenset({"cn"}),
    "russia_exclusion": frozenset({"ru"}),
    "belarus_exclusion": frozenset({"by"}),
    "iran_north_korea_syria_exclusion": frozenset({"ir", "kp", "sy"}),
}
EXCLUSION_FENCES = frozenset(name for name in REGION_FENCES if name.endswith("_exclusion"))


def fence_names(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """The geofence names of a call's effective settings (none: every node is eligible)."""
    geofencing = settings.get("geofencing") or {}
    return tuple(sorted(geofencing.get("names") or ()))


def region_allowed(region: str, names: Collection[str]) -> bool:
    """May a node in ``region`` serve a call fenced by ``names``?"""
    region = region.lower()
    included = [REGION_FENCES[name] for name in names if name not in EXCLUSION_FENCES and name in REGION_FENCES]
    if included and not any(region in regions for regions in included):
        return False
    return not any(region in REGION_FENCES[name] for name in names if name in EXCLUSION_FENCES)
