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
  if ! "$env/bin/pip" install --disable-pip-version-check --progress-bar off "$@" \
      >>"$env/install.log" 2>&1; then
    grep -v "^WARNING: Location" "$env/install.log" | tail -n 40 >&2
    echo "ensure-env: pip install $* into $env failed (whole log: $env/install.log)" >&2
    exit 1
  fi
}

# pinned_count FILE...: how many packages the constraints the requirement files name pin.
pinned_count() {
  local f c
  for f in "$@"; do
    for c in $(sed -n 's/^-c *//p' "$f"); do realpath "$(dirname "$f")/$c"; done
  done | sort -u | xargs -r cat | grep -cE '^[A-Za-z0-9]' || true
}

# progress LOG TOTAL: until killed, says how far pip is in what it writes to LOG from now on
# (what it collects, how many of about TOTAL), as one updating line on a terminal, else a line
# at most every 15 s.
progress() {
  local log=$1 total=$2 last="" line text start
  start=$(($(stat -c %s "$log") + 1))
  while sleep 3; do
    text=$(tail -c "+$start" "$log")
    # pip says "Collecting NAME" for an index's package, "Processing PATH" for a local file's.
    if grep -q "^Installing collected packages" <<<"$text"; then
      line="installing the $(grep -cE '^(Collecting|Processing) ' <<<"$text" || true) packages collected (last step)"
    else
      line="collecting packages: $(grep -cE '^(Collecting|Processing) ' <<<"$text" || true) of about $total"
      line+=" ($(grep -E '^(Collecting|Processing) ' <<<"$text" | tail -n 1 | cut -d' ' -f2 \
        | sed 's#.*/##' || true))"
    fi
    [ "$line" = "$last" ] && continue
    if [ -t 2 ]; then printf '\r\033[Kensure-env: %s: %s' "$name" "$line" >&2
    else echo "ensure-env: $name: $line" >&2; sleep 12; fi
    last=$line
  done
}
mkdir -p "$root"
# Two builds of one env at once (two clones, two `make` runs) would delete each other's work:
# the second waits for the first, then finds the env complete.
exec 9>"$env.lock"
flock 9
if [ ! -f "$env/.complete" ]; then
  echo "ensure-env: building the $name environment (once; a few minutes): $env (python $version) from $*" >&2
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
  progress "$env/install.log" "$(pinned_count "$@")" &
  reporter=$!
  trap 'kill "$reporter" 2>/dev/null || true' EXIT
  install "$env" "${args[@]}"
  if ((${#nodeps[@]})); then install "$env" --no-deps "${nodeps[@]}"; fi
  kill "$reporter" 2>/dev/null || true
  wait "$reporter" 2>/dev/null || true
  [ ! -t 2 ] || printf '\r\033[K' >&2
  broken=$("$env/bin/pip" check 2>&1 | grep -viE "$skip|^No broken requirements" || true)
  [ -z "$broken" ] || { echo "ensure-env: $name has broken requirements: $broken" >&2; exit 1; }
  touch "$env/.complete"
  echo "ensure-env: $name environment ready" >&2
fi
echo "$env"
