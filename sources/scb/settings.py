"""SCB PxWebApi 2.0 constants and the environment variable that overrides the address.

The call limits and the cell limit are deliberately absent: they are read from the
server's ``/config`` at run time (see ``client.ScbClient.config``).
"""

from __future__ import annotations

import os

DEFAULT_BASE_URL = "https://statistikdatabasen.scb.se/api/v2"
BASE_URL_ENV = "MALBILD_SCB_URL"

LANG = "sv"
DATA_FORMAT = "json-stat2"

# Page size asked of ``/tables``; the server may answer with fewer per page.
TABLES_PAGE_SIZE = 100

# Until ``/config`` has been read the shared limiter allows one call per second: only
# the ``/config`` call itself ever runs under this placeholder.
BOOTSTRAP_CALLS = 1
BOOTSTRAP_WINDOW_SECONDS = 1.0

# Added to SCB's announced window: our limiter stamps a call when it is sent, SCB when
# it arrives, so network jitter could otherwise squeeze one call too many into a window.
WINDOW_MARGIN_SECONDS = 0.25


def base_url() -> str:
    """The API root: ``MALBILD_SCB_URL`` if set, else SCB's v2 address."""
    return (os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
