#!/usr/bin/env bash
# Creates (once) and prints the path of a virtual environment for a set of requirement files.
# The environment lives outside the clone, keyed by the Python version and a hash of the
# requirement files, so a clean clone (CI) reuses it and a changed pin builds a new one.
#
# Usage: scripts/ensure-env.sh NAME PYTHON REQUIREMENTS_FILE...
# Env:   FAQBOT_ENV_ROOT (default: ~/.cache/faqbot/envs)
set -euo pipefail
name=$1 python=$2; shift 2
root=${FAQBOT_ENV_ROOT:-$HOME/.cache/faqbot/envs}
command -v "$python" >/dev/null 2>&1 || [ -x "$python" ] \
  || { echo "ensure-env: python '$python' for env '$name' not found" >&2; exit 1; }
version=$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
hash=$( { echo "$version"; cat "$@"; } | sha256sum | cut -c1-12)
env="$root/$name-$hash"
if [ ! -f "$env/.complete" ]; then
  echo "ensure-env: building $env (python $version) from $*" >&2
  rm -rf "$env"
  mkdir -p "$root"
  "$python" -m venv "$env"
  "$env/bin/pip" install -q --disable-pip-version-check pip==24.0 >&2
  args=()
  for f in "$@"; do args+=(-r "$f"); done
  if ! "$env/bin/pip" install -q --disable-pip-version-check "${args[@]}" >"$env/install.log" 2>&1
  then
    grep -v "^WARNING: Location" "$env/install.log" >&2
    echo "ensure-env: installing $* into $env failed" >&2
    exit 1
  fi
  "$env/bin/pip" check >&2 || { echo "ensure-env: $name has broken requirements" >&2; exit 1; }
  touch "$env/.complete"
fi
echo "$env"
