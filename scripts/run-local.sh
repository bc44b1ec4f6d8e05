#!/usr/bin/env bash
# `make run`: the product as local processes, no Docker needed. Every variable has a development
# default (see README); logs of every process go to var/log/ and to this terminal; Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var/log

export API_TOKEN=${API_TOKEN:-dev-api-token-change-me}
export DATABASE_URL=${DATABASE_URL:-sqlite:///$PWD/var/publish-api.sqlite3}
export BROKER_URL=${BROKER_URL:-amqp://guest:guest@127.0.0.1:5672//}
export PUBLISH_API_HOST=${PUBLISH_API_HOST:-127.0.0.1}
export PUBLISH_API_PORT=${PUBLISH_API_PORT:-5000}

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "run-local: stopped"
}
trap stop INT TERM EXIT

# start NAME COMMAND...: run in the background, output prefixed and kept in var/log/NAME.log.
start() {
  local name=$1; shift
  ( "$@" 2>&1 | while IFS= read -r line; do printf '%s | %s\n' "$name" "$line"; done \
      | tee -a "var/log/$name.log" ) &
  pids+=($!)
}

api_python=$(cat .api-env)/bin/python
(cd publish-api && "$api_python" -m publish_api migrate)
start publish-api env -C publish-api "$api_python" -m publish_api serve

echo "run-local: publish-api on http://$PUBLISH_API_HOST:$PUBLISH_API_PORT (token: \$API_TOKEN); Ctrl-C stops"
wait
