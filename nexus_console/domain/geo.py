"""Where a country is, for impossible travel: the approximate centre of each country the platform's events
come from, and the great-circle distance between two points. Centres are coarse by design: a login's
country is all the events say, and a rule only needs "farther than anyone could travel in the time"."""

from __future__ import annotations

import math

# (latitude, longitude) in degrees
COUNTRY_CENTRES: dict[str, tuple[float, float]] = {
    "NO": (61.0, 8.5), "SE": (62.0, 15.0), "DK": (56.0, 10.0), "FI": (64.0, 26.0), "DE": (51.0, 10.5),
    "GB": (54.0, -2.0), "US": (39.8, -98.6), "FR": (46.6, 2.4), "ES": (40.2, -3.6), "IT": (42.8, 12.5),
    "NL": (52.2, 5.5), "PL": (52.1, 19.4), "JP": (36.2, 138.3), "BR": (-10.8, -52.9), "IN": (22.9, 79.6),
    "RU": (61.5, 105.3), "CN": (35.9, 104.2), "NG": (9.1, 8.7), "VN": (14.1, 108.3), "UA": (49.0, 31.4),
    "RO": (45.9, 25.0), "TR": (39.0, 35.2), "ID": (-2.5, 118.0), "AU": (-25.3, 133.8), "CA": (56.1, -106.3),
    "MX": (23.6, -102.6), "ZA": (-30.6, 22.9), "KR": (36.5, 127.8), "SG": (1.35, 103.8), "AR": (-38.4, -63.6),
}  # fmt: skip
EARTH_RADIUS_KM = 6371.0


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))
