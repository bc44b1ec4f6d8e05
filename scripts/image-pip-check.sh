#!/bin/sh
# `pip check` for the Rasa images, which install pinned locks with --no-deps (see
# scripts/lock-images.py): fails the build when a package misses a dependency, except for the
# mismatches that are expected:
# - "... requires tensorflow, which is not installed": the images install tensorflow-cpu, which
#   provides the same `tensorflow` module under another distribution name;
# - "... requires jax|libclang|tensorboard-data-server, ...": declared dependencies of TensorFlow
#   and TensorBoard that nothing in the images runs (scripts/lock-images.py, LEFT_OUT, says why);
# - the packages of the *-nodeps.txt files given as arguments, whose declared dependencies are
#   left out on purpose (see each file's comment).
# It also fails when the `tensorflow` distribution itself (the CUDA build, ~1.5 GB) got in.
#
# Usage: image-pip-check.sh [NODEPS_FILE...]   (files that do not exist are skipped)
set -eu
if python -c 'import importlib.metadata as m; m.distribution("tensorflow")' 2>/dev/null; then
  echo "image-pip-check: the tensorflow distribution is installed; the images take tensorflow-cpu" >&2
  exit 1
fi
expected='requires (tensorflow|jax|libclang|tensorboard-data-server), which is not installed\.$'
for file in "$@"; do
  [ -f "$file" ] || continue  # an optional file that is not there
  for pkg in $(grep -oE '^[A-Za-z0-9_.-]+==' "$file" | tr -d '='); do
    expected="$expected|^$pkg "
  done
done
report=$(python -m pip check 2>&1 || true)
unexpected=$(printf '%s\n' "$report" | grep -viE "$expected|^No broken requirements" || true)
if [ -n "$unexpected" ]; then
  printf 'image-pip-check: broken requirements:\n%s\n' "$unexpected" >&2
  exit 1
fi
