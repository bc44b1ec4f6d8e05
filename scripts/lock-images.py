#!/usr/bin/env python3
"""Writes the lock files that the Rasa images install with `pip install --no-deps -r LOCK`.

Usage (Python 3.10, the Rasa environment's version; needs PyPI):  make image-locks

Rasa 3.6.21 pins `tensorflow==2.12.0`, whose Linux wheel carries CUDA kernels (~1.5 GB
installed). The images take `tensorflow-cpu` of the same version instead: the same `tensorflow`
module, CPU only. Rasa and tensorflow-text declare the distribution name `tensorflow`, so pip
would pull the CUDA wheel back as their dependency: the images therefore install these fully
resolved locks without dependency resolution, and `scripts/image-pip-check.sh` proves that each
image's set is complete (`pip check`, less the lines expected for what is left out).

Every version comes from constraints/py310-rasa.txt, the pin set the tests run with; the
resolution runs in a throw-away venv with the pip version of scripts/ensure-env.sh. Left out
besides `tensorflow` (see LEFT_OUT), so that the bot image stays under 2.1 GB (a test checks it):
declared dependencies of TensorFlow that nothing in these images runs.

- constraints/py310-rasa-image.txt: Rasa and everything it needs: the first layer of the bot,
  publish-broker and capture-bot images (the same layer in all three).
- constraints/py310-broker-image.txt: what publish-broker/requirements.txt adds to that layer.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = "constraints/py310-rasa.txt"
RASA_LOCK = "constraints/py310-rasa-image.txt"
BROKER_LOCK = "constraints/py310-broker-image.txt"
PIP = "pip==24.0"  # as scripts/ensure-env.sh
# Distribution swapped for another of the same version and module.
SWAP = {"tensorflow": "tensorflow-cpu"}
# Declared dependencies left out of the images; with `tensorflow`, the only packages that
# `pip check` may report missing (scripts/image-pip-check.sh):
# - jax and jaxlib (~300 MB), and ml-dtypes, which only they need: TensorFlow 2.12 imports jax
#   only for TFLite's JAX converter, inside `try: ... except ImportError`
#   (tensorflow/lite/python/util.py); nothing here converts models to TFLite. Without them,
#   `import tensorflow` (every bot's start) also skips importing jax (~0.4 s).
# - libclang (~60 MB): declared for TensorFlow's build tooling; no installed module imports it.
# - tensorboard-data-server (~20 MB): the fast data loader of the `tensorboard` web server, which
#   nothing here starts (TensorFlow and Rasa use only tensorboard's summary-writing modules).
LEFT_OUT = {"jax", "jaxlib", "ml-dtypes", "libclang", "tensorboard-data-server"}
# `pip freeze` leaves these out of the constraints; the versions of the Rasa test environment.
UNFROZEN = ["setuptools==70.3.0", "wheel==0.45.1"]
HEADER = """\
# {what}
# Written by `make image-locks` (scripts/lock-images.py) from {constraints}; do not edit.
# Installed with `pip install --no-deps -r`; tensorflow-cpu stands for tensorflow.
# Left out on purpose (see the script): {left_out}.
"""


def main() -> None:
    if sys.version_info[:2] != (3, 10):
        sys.exit("lock-images: run with Python 3.10, the Rasa images' version")
    pins = _pins(ROOT / CONSTRAINTS)
    swapped = [f"{new}=={pins[old]}" for old, new in SWAP.items()]
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([venv / "bin/pip", "install", "-q", PIP], check=True)

        def resolve(*requirements: str) -> dict[str, str]:
            report = Path(tmp) / "report.json"
            subprocess.run([venv / "bin/pip", "install", "-q", "--dry-run", "--ignore-installed",
                            "--report", report, "-c", CONSTRAINTS, *requirements, *swapped,
                            *UNFROZEN], cwd=ROOT, check=True)
            resolved = {_canonical(item["metadata"]["name"]): item["metadata"]["version"]
                        for item in json.loads(report.read_text())["install"]}
            return {name: version for name, version in resolved.items()
                    if name not in SWAP and name not in LEFT_OUT}

        rasa = resolve(f"rasa=={pins['rasa']}")
        broker = resolve("-r", "publish-broker/requirements.txt")
    conflicts = {n: (v, broker[n]) for n, v in rasa.items() if n in broker and broker[n] != v}
    if conflicts:
        sys.exit(f"lock-images: the broker's requirements resolve differently: {conflicts}")
    _write(RASA_LOCK, rasa,
           "Rasa 3.6: the first layer of the bot, publish-broker and capture-bot images.")
    _write(BROKER_LOCK, {n: v for n, v in broker.items() if n not in rasa},
           f"The publish-broker image: what its requirements add to {RASA_LOCK}.")


def _pins(path: Path) -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", path.read_text(), re.MULTILINE)
    return {_canonical(name): version for name, version in found}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _write(path: str, pins: dict[str, str], what: str) -> None:
    text = HEADER.format(what=what, constraints=CONSTRAINTS, left_out=", ".join(sorted(LEFT_OUT)))
    text += "".join(f"{name}=={pins[name]}\n" for name in sorted(pins))
    (ROOT / path).write_text(text)
    print(f"lock-images: {path}: {len(pins)} packages")


if __name__ == "__main__":
    main()
