"""A clean checkout of the working tree: what `git clone` gives once the tree is committed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def clean_checkout(destination: Path) -> Path:
    """Copies every tracked and every new, not-ignored file of the working tree to `destination`.

    No virtual environments, models, `.env` files or `var/`: only what a clone would hold.
    Raises subprocess.CalledProcessError if git fails.
    """
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, check=True, capture_output=True,
    ).stdout.decode()
    for name in filter(None, listing.split("\0")):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the tree is not copied
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination
