#!/usr/bin/env bash
# Creates (once) and prints the path of a virtual environment for a set of requirement files.
# The environment lives outside the clone, keyed by the Python version and a hash of the
# requirement files, so a clean clone (CI) reuses it and a changed pin builds a new one.
#
# Usage: scripts/ensure-env.sh NAME PYTHON REQUIREMENTS_FILE...
# A file named *-nodeps.txt is installed with --no-deps, after the others: for packages whose
# declared dependencies we must not take (e.g. model weights that declare torch).
# Env:   FAQBOT_ENV_ROOT (default: ~/.cache/faqbot/envs)
set -euo pipefail
name=$1 python=$2; shift 2
root=${FAQBOT_ENV_ROOT:-$HOME/.cache/faqbot/envs}
command -v "$python" >/dev/null 2>&1 || [ -x "$python" ] \
  || { echo "ensure-env: python '$python' for env '$name' not found" >&2; exit 1; }
version=$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
hash=$( { echo "$version"; cat "$@"; } | sha256sum | cut -c1-12)
env="$root/$name-$hash"

install() {
  local env=$1; shift
  if ! "$env/bin/pip" install -q --disable-pip-version-check "$@" >>"$env/install.log" 2>&1; then
    grep -v "^WARNING: Location" "$env/install.log" >&2
    echo "ensure-env: pip install $* into $env failed" >&2
    exit 1
  fi
}
mkdir -p "$root"
# Two builds of one env at once (two clones, two `make` runs) would delete each other's work:
# the second waits for the first, then finds the env complete.
exec 9>"$env.lock"
flock 9
if [ ! -f "$env/.complete" ]; then
  echo "ensure-env: building $env (python $version) from $*" >&2
  rm -rf "$env"
  "$python" -m venv "$env"
  install "$env" pip==24.0
  args=() nodeps=() skip='^$'
  for f in "$@"; do
    case "$f" in
      *-nodeps.txt)
        nodeps+=(-r "$f")
        # Their undeclared-on-purpose dependencies are not breakage.
        for pkg in $(grep -oE '^[A-Za-z0-9_.-]+==' "$f" | tr -d '='); do skip="$skip|^$pkg "; done ;;
      *) args+=(-r "$f") ;;
    esac
  done
  install "$env" "${args[@]}"
  if ((${#nodeps[@]})); then install "$env" --no-deps "${nodeps[@]}"; fi
  broken=$("$env/bin/pip" check 2>&1 | grep -viE "$skip|^No broken requirements" || true)
  [ -z "$broken" ] || { echo "ensure-env: $name has broken requirements: $broken" >&2; exit 1; }
  touch "$env/.complete"
fi
echo "$env"
