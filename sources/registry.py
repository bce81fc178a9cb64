"""The sources a refresh asks, in order. A new source is one folder under ``sources/``,
one ``transforms/<source>.py`` and one line here (docs/architecture.md)."""

from __future__ import annotations

from sources.base import Source
from sources.kolada.series import KoladaSource
from sources.own.series import OwnFileSource
from sources.scb.series import ScbSource

SOURCES: tuple[Source, ...] = (KoladaSource(), ScbSource(), OwnFileSource())
