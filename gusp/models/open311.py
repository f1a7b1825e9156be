"""Tables of the open311 part (filled in by its issue)."""

from __future__ import annotations
