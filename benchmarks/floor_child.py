"""The raw fetch floor: the data pages of a plan fetched by a plain ``requests`` loop
(`python -m benchmarks.floor_child ARGS_JSON`).

One ``requests.Session``, one request at a time, no throttle, no retries, no landing,
no parsing beyond finding ``next_url``: exactly the ``/data/kpi/…/year/…`` URLs a
malbild run asks (``sources.kolada.planning.plan_data_queries``, ``per_page=5000``,
then each page's ``next_url``), every body read whole and discarded.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any
from urllib.parse import urljoin

_DECODER = json.JSONDecoder()


def next_url(body: bytes) -> str | None:
    """The page's ``next_url``, read from the envelope's key nearest the end."""
    at = body.rfind(b'"next_url"')
    if at < 0:
        found = json.loads(body).get("next_url")
        return str(found) if found else None
    tail = body[at : at + 4096].decode("utf-8", errors="replace")
    value, _ = _DECODER.raw_decode(tail[tail.index(":") + 1 :].lstrip())
    return str(value) if value else None


def fetch_floor(args: dict[str, Any]) -> dict[str, Any]:
    import requests

    from sources.kolada.planning import plan_data_queries

    base = args["kolada_url"].rstrip("/")
    per_page = args.get("per_page", 5000)
    urls = [
        f"{base}{q.path}?per_page={per_page}"
        for q in plan_data_queries(args["kpi_ids"], args["years"])
    ]
    pages = size = 0
    started = time.perf_counter()
    with requests.Session() as session:
        for first in urls:
            url: str | None = first
            while url:
                answer = session.get(url, timeout=120)
                answer.raise_for_status()
                body = answer.content
                pages += 1
                size += len(body)
                following = next_url(body)
                url = urljoin(url, following) if following else None
    return {
        "seconds": time.perf_counter() - started,
        "queries": len(urls),
        "pages": pages,
        "bytes": size,
    }


def main() -> None:
    from benchmarks.measure import emit

    emit(fetch_floor(json.loads(sys.argv[1])))


if __name__ == "__main__":
    main()
