#!/usr/bin/env bash
# Builds the base images the stack needs but an engine without registry access cannot pull
# (after ../shared/tools/docker-sandbox): python:3.11-slim (publish-api), and stand-ins for
# postgres and rabbitmq. Each is skipped when present. Prints the two service images' names.
# Usage: tests/stack/images/standins.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log() { printf 'standins: %s\n' "$*" >&2; }

if ! docker image inspect python:3.11-slim >/dev/null 2>&1; then
  pyroot=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  prefix=$(ls -d "$pyroot"/versions/3.11.* 2>/dev/null | sort -V | tail -n 1)
  [ -n "$prefix" ] || { log "no CPython 3.11 under $pyroot/versions"; exit 1; }
  [[ $prefix == /root/* ]] || { log "expects pyenv under /root, found $prefix"; exit 1; }
  log "building python:3.11-slim from $prefix"
  context=$(mktemp -d)
  trap 'rm -rf "$context"' EXIT
  cp "$here/python-3.11-slim.Dockerfile" "$context/Dockerfile"
  # The interpreter and its standard library; no site-packages, no test suite.
  tar -C / -c --exclude="${prefix#/}/lib/python3.11/site-packages/*" \
    --exclude="${prefix#/}/lib/python3.11/test" "${prefix#/}" | tar -C "$context" -x
  docker build --network host -q --build-arg "PYTHON_PREFIX=$prefix" -t python:3.11-slim \
    "$context" >/dev/null
fi
for name in postgres rabbitmq; do
  image=faqbot-test-$name:local
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    log "building $image"
    docker build --network host -q -f "$here/$name.Dockerfile" -t "$image" "$here" >/dev/null
  fi
done
echo "POSTGRES_IMAGE=faqbot-test-postgres:local RABBITMQ_IMAGE=faqbot-test-rabbitmq:local"
