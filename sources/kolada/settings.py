"""Kolada API v3 constants and the environment variables that override them."""

from __future__ import annotations

import os

DEFAULT_BASE_URL = "https://api.kolada.se/v3"
BASE_URL_ENV = "MALBILD_KOLADA_URL"

# Kolada's default page size and also its maximum.
PER_PAGE = 5000

# Kolada refuses longer id lists (kpi, municipality, year, ou) in one request.
MAX_IDS_PER_REQUEST = 25

# A query whose next_url still points on after this many pages is given up as endless
# (a server minting a new next_url every time). Kolada tells no total to check against:
# ``count`` is the records on one page. The largest query (25 KPIs x 25 years x 312
# areas = 195,000 records) takes 40 pages of 5,000, the KPI catalogue 2.
MAX_PAGES_PER_QUERY = 2000

# Data queries fetched at once, all under the one throttle: while one waits on the
# network, another's page is being read and staged.
QUERY_WORKERS = 4

# An incremental refresh asks for values changed since the last successful fetch less
# this many days: a value Kolada changes while a refresh runs, or stamps late, is not
# missed. Values that did not change come back identical and change nothing.
FROM_DATE_OVERLAP_DAYS = 3

# Kolada documents no rate limit; maintained clients keep to 3-5 requests/s.
DEFAULT_RATE_PER_SECOND = 5.0
RATE_ENV = "MALBILD_KOLADA_RATE"


def base_url() -> str:
    """The API root: ``MALBILD_KOLADA_URL`` if set, else Kolada's v3 address."""
    return (os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")


def rate_per_second() -> float:
    """Requests per second: ``MALBILD_KOLADA_RATE`` if set, else the default."""
    raw = os.environ.get(RATE_ENV)
    if not raw:
        return DEFAULT_RATE_PER_SECOND
    try:
        rate = float(raw)
    except ValueError:
        raise ValueError(f"{RATE_ENV}={raw!r} is not a number of requests per second") from None
    if rate <= 0:
        raise ValueError(f"{RATE_ENV}={raw!r} must be positive")
    return rate
