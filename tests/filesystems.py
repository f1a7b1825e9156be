"""Real small file systems for tests: a size-limited tmpfs, full after a few photos, or read-only.

Mounting needs root (CAP_SYS_ADMIN), which the set-up and CI have; elsewhere the test is skipped
with the reason, never faked.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def tmpfs(path: Path, *, size_kb: int, read_only: bool = False) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size_kb}k,mode=0755" + (",ro" if read_only else "")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (root needed): {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def fill(path: Path) -> None:
    """Fill the file system of path up to its last byte."""
    try:
        with open(path / "remplissage", "wb", buffering=0) as file:
            while True:
                file.write(b"\0" * 4096)
    except OSError:  # ENOSPC: full
        pass
