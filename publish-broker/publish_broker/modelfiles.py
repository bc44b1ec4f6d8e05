"""Model files on disk: where a bot's trained models live and how they are swapped in.

A bot's models live in ``<models dir>/<bot name>/<digest>.tar.gz``. The broker writes them
(atomically, readable by bots and pools that mount the directory read-only), deletes the old
ones once a new one is live, and serialises deploys of one bot with a lock file beside them.
For a moment during a publish to a pool, ``<digest>.tar.gz`` may hold only the matcher's
files (``FaqModel.to_archive``), until Rasa's archive of the same digest replaces it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path

from publish_broker.errors import DeployError

logger = logging.getLogger(__name__)

MODEL_SUFFIX = ".tar.gz"
RASA_METADATA = "metadata.json"  # at the root of every Rasa model archive
_DIGEST = re.compile(r"[A-Za-z0-9_-]{1,128}")


def model_file_name(model_digest: str) -> str:
    """The file name a model of this digest has in a bot's model directory.

    Raises:
        ValueError: the digest could not be part of a file name.
    """
    if not _DIGEST.fullmatch(model_digest):
        raise ValueError("model digest must be 1-128 letters, digits, '-' or '_'")
    return model_digest + MODEL_SUFFIX


def digest_of(file_name: str) -> str | None:
    """The digest a model file's name carries, None if it is not a model file's name."""
    return file_name[: -len(MODEL_SUFFIX)] if file_name.endswith(MODEL_SUFFIX) else None


def stored_model(bot_dir: Path, model_digest: str) -> Path | None:
    """The Rasa model archive of this digest in a bot's model directory, None if it is not
    there (or only the matcher-only archive a pool answers with until Rasa has packaged it)."""
    with contextlib.suppress(ValueError):
        path = bot_dir / model_file_name(model_digest)
        return path if path.is_file() and is_packaged(path) else None
    return None


def is_packaged(path: Path) -> bool:
    """True for a Rasa model archive; False for a matcher-only one (``FaqModel.to_archive``),
    which has no Rasa metadata, or a file that is no archive."""
    try:
        with tarfile.open(path, "r:gz") as archive:
            return any(member.name == RASA_METADATA for member in archive)
    except (OSError, tarfile.TarError, EOFError):
        return False


def install_model(model_path: Path, bot_dir: Path, model_digest: str) -> Path:
    """Copy a trained model into a bot's model directory, atomically, readable by the bot.

    The copy gets a fresh mtime, so a bot pointed at the directory loads it as the newest.

    Raises:
        DeployError: the model file cannot be read or the directory cannot be written.
    """
    target = bot_dir / model_file_name(model_digest)
    incoming = bot_dir / f".incoming-{os.getpid()}-{target.name}"
    try:
        bot_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        shutil.copyfile(model_path, incoming)
        os.chmod(incoming, 0o644)
        os.replace(incoming, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            incoming.unlink(missing_ok=True)
        logger.error("could not install model %s into %s: %s", model_path, bot_dir, exc)
        raise DeployError("The trained bot could not be stored for deployment.") from exc
    return target


def prune_models(bot_dir: Path, keep_digest: str | None) -> None:
    """Delete the bot's model files other than ``keep_digest`` (all of them when None)."""
    keep = model_file_name(keep_digest) if keep_digest else None
    for path in bot_dir.glob("*" + MODEL_SUFFIX):
        if path.name != keep:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def discard_model(bot_dir: Path, model_digest: str, live_digest: str | None) -> None:
    """Delete a model that did not go live, so that a restarted bot never loads it instead."""
    if live_digest != model_digest:
        with contextlib.suppress(FileNotFoundError, ValueError):
            (bot_dir / model_file_name(model_digest)).unlink()


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing): one deploy per bot at a time,
    across threads and worker processes alike."""
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def store_id(models_dir: Path) -> str:
    """Names a models directory without showing its path: a pool reports the one it serves on
    its open /health, and a runtime checks it, so that it never takes another pool on its port
    (another checkout, another test) for its own."""
    return hashlib.sha256(str(Path(models_dir).resolve()).encode()).hexdigest()[:16]
