"""Tables of the diagnostics part (filled in by its issue)."""

from __future__ import annotations
