"""The municipality's own files: read like an answer from any other source.

A file series' "transport" is the file system: the bytes are read once and handed on
as a ``Response`` (method ``FILE``), so the raw landing keeps them content-addressed
like every HTTP answer and a changed file is a new version.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sources.http import Response
from transforms.own import OwnFileError


def read_file(path: Path, label: dict[str, Any]) -> Response:
    """The file's bytes as an answer; OwnFileError names the file when it cannot be read."""
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise OwnFileError(f"{path}: cannot read the file ({exc.strerror})") from exc
    return Response(
        method="FILE",
        url=path.resolve().as_uri(),
        status=200,
        body=body,
        headers={},
        fetched_at=datetime.now(UTC),
        label=label,
    )
