"""The public view layer: everything served without sign-in is shaped here (redacted, moderated, coarsened)."""
