#!/usr/bin/env bash
# `make run`: the whole product as local processes, no Docker needed — publish-api, the bot pool
# (every owner's bot in one process), the broker, the action server and the Slack concierge.
#
# Every variable has a development default (printed at start; README "Running locally"):
# without DATABASE_URL / BROKER_URL it runs on SQLite files in the var directory, for the data
# and as the Celery transport (kombu's `sqla+sqlite://`), so nothing else needs installing.
# Logs: each process's output goes to <var>/log/<name>.log and, prefixed, to this terminal; each
# owner's models are in <var>/bots/<bot>/. Ctrl-C (or SIGTERM) stops everything, bots included.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

die() { echo "run-local: $*" >&2; exit 1; }
for env_file in .api-env .rasa-env; do
  [ -s "$env_file" ] || die "$env_file is missing: run 'make envs' (make run does it for you)"
done
api_python=$(cat .api-env)/bin/python
rasa_python=$(cat .rasa-env)/bin/python

var=${FAQBOT_VAR_DIR:-$repo/var}
mkdir -p "$var/log"
var=$(cd "$var" && pwd)

# default NAME VALUE: export NAME=VALUE unless it is set; remember which ones were defaulted.
defaulted=()
default() {
  if [ -z "${!1:-}" ]; then export "$1=$2"; defaulted+=("$1"); else export "${1?}"; fi
}
default API_TOKEN dev-api-token-change-me
default BROKER_API_TOKEN dev-broker-api-token-change-me
default ACTIONS_API_TOKEN dev-actions-api-token-change-me
default BOT_AUTH_TOKEN dev-bot-token-change-me
default ACTIONS_TOKEN dev-actions-token-change-me
default SLACK_BOT_TOKEN xoxb-dev-not-a-real-token
default SLACK_SIGNING_SECRET dev-signing-secret-change-me
default SLACK_API_URL https://slack.com/api/
default DATABASE_URL "sqlite:///$var/publish-api.sqlite3"
default BROKER_URL "sqla+sqlite:///$var/celery-broker.sqlite3"
default PUBLISH_QUEUE publish
default PUBLISH_API_HOST 127.0.0.1
default PUBLISH_API_PORT 5000
default ACTIONS_PORT 5055
default CONCIERGE_HOST 127.0.0.1
default CONCIERGE_PORT 5005
default BOT_RUNTIME process
default BOT_MODELS_DIR "$var/bots"
default POOL_PORT 5090
default NLTK_DATA "$HOME/.cache/faqbot/nltk_data"
export PUBLISH_API_URL=${PUBLISH_API_URL:-http://$PUBLISH_API_HOST:$PUBLISH_API_PORT}
# Third-party deprecation warnings would drown the logs of interest.
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore::DeprecationWarning}
# Rasa: no telemetry, no training cache, one BLAS thread per process (small pipelines).
export RASA_TELEMETRY_ENABLED=false RASA_MAX_CACHE_SIZE=0 OMP_NUM_THREADS=1 \
  OPENBLAS_NUM_THREADS=1 TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1
[ "$BOT_RUNTIME" = process ] || die "BOT_RUNTIME=$BOT_RUNTIME: make run runs bots in a local pool"

show_settings() {
  echo "run-local: data and logs in $var"
  echo "run-local: database ${DATABASE_URL%%:*}, Celery transport ${BROKER_URL%%:*}"
  local name
  for name in "${defaulted[@]}"; do
    case $name in
      *TOKEN|SLACK_*) echo "run-local: $name=${!name} (development default)" ;;
    esac
  done
}

# Each service runs in its own process group (job control), so the terminal's Ctrl-C reaches
# only this script, which then stops them in reverse order and waits for them.
set -m
pids=() names=()
# start NAME COMMAND...: run in the background; output to <var>/log/NAME.log and, prefixed, here.
start() {
  local name=$1; shift
  "$@" > >(trap '' INT TERM; tee -a "$var/log/$name.log" | sed -u "s/^/$(printf '%-15s' "$name")| /") 2>&1 &
  pids+=("$!") names+=("$name")
}

stopped=false
stop() {
  $stopped && return
  stopped=true
  trap - INT TERM EXIT
  echo "run-local: stopping"
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM -- "-${pids[i]}" 2>/dev/null || true; done
  # A service that ignores SIGTERM for 30 s is killed.
  (sleep 30; for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done) &
  local watchdog=$!
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  { kill -- "-$watchdog"; wait "$watchdog"; } 2>/dev/null || true
  wait 2>/dev/null || true
  echo "run-local: stopped"
}

# wait_ready NAME URL PID TIMEOUT: poll URL until it answers 200; fail if PID exits first.
wait_ready() {
  "$rasa_python" - "$@" <<'EOF' || { stop; exit 1; }
import os, sys, time, urllib.request
name, url, pid, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
        with urllib.request.urlopen(url, timeout=2) as answer:
            if answer.status == 200:
                sys.exit(0)
    except ProcessLookupError:
        sys.exit(f"run-local: {name} exited; see its log above")
    except OSError:
        pass
    time.sleep(0.5)  # polling interval, bounded by the deadline
sys.exit(f"run-local: {name} did not become ready within {timeout:.0f} s")
EOF
}

# The concierge model is trained when missing or when its training files changed.
concierge_model() {
  local dir="$var/concierge" digest
  digest=$(cd capture-bot && cat domain.yml config.yml data/*.yml requirements.txt | sha256sum | cut -c1-16)
  if [ "$(cat "$dir/digest" 2>/dev/null)" != "$digest" ] || [ ! -f "$dir/concierge.tar.gz" ]; then
    echo "run-local: training the concierge (once per change of capture-bot/, ~30 s)"
    rm -rf "$dir/train" && mkdir -p "$dir/train"
    (cd capture-bot && "$rasa_python" -m rasa train --domain domain.yml --config config.yml \
      --data data --out "$dir/train" --fixed-model-name concierge --force) \
      >"$var/log/concierge-train.log" 2>&1 \
      || { echo "run-local: training failed; see $var/log/concierge-train.log" >&2; return 1; }
    mv "$dir/train/concierge.tar.gz" "$dir/concierge.tar.gz" && echo "$digest" >"$dir/digest"
  fi
  # The action server's URL depends on ACTIONS_PORT, so the endpoints file is written per run;
  # its secret stays in the environment (Rasa expands ${ACTIONS_TOKEN}), not in the file.
  printf 'action_endpoint:\n  url: http://127.0.0.1:%s/webhook\n  headers:\n    Authorization: Bearer ${ACTIONS_TOKEN}\n' \
    "$ACTIONS_PORT" >"$dir/endpoints.yml"
}

trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT
show_settings
mkdir -p "$BOT_MODELS_DIR"
(cd publish-api && "$api_python" -m publish_api migrate) || die "publish-api migrations failed"
start publish-api env -C publish-api "$api_python" -m publish_api serve
# Every owner's bot, in one process; before the broker, which otherwise starts a pool of its own.
start bot-pool env -C publish-broker PYTHONPATH="$repo/publish-broker" \
  POOL_MODELS_DIR="$BOT_MODELS_DIR" POOL_HOST=127.0.0.1 POOL_PORT="$POOL_PORT" \
  "$rasa_python" -m publish_broker.pool
wait_ready bot-pool "http://127.0.0.1:$POOL_PORT/health" "${pids[1]}" 60
# The broker and the action server call publish-api with tokens of their own (API_TOKEN in
# their environment), which reach only the routes each needs.
# Gossip, mingle and heartbeats need a broadcasting transport; the SQLite one has none.
start publish-broker env -C publish-broker PYTHONPATH="$repo/publish-broker" API_TOKEN="$BROKER_API_TOKEN" \
  "$rasa_python" -m celery -A publish_broker.celery_app worker --pool solo --loglevel INFO \
  --without-gossip --without-mingle --without-heartbeat --hostname "run-local@%h"
# rasa-sdk (behind ACTIONS_TOKEN) listens on all interfaces unless SANIC_HOST says otherwise.
start capture-actions env -C capture-actions PYTHONPATH="$repo/capture-actions" SANIC_HOST=127.0.0.1 \
  API_TOKEN="$ACTIONS_API_TOKEN" \
  "$rasa_python" -m actions.server --actions actions -p "$ACTIONS_PORT"
concierge_model || { stop; exit 1; }
start concierge env -C capture-bot PYTHONPATH="$repo/capture-bot" \
  "$rasa_python" -m rasa run -m "$var/concierge/concierge.tar.gz" -i "$CONCIERGE_HOST" \
  -p "$CONCIERGE_PORT" --credentials credentials.yml --endpoints "$var/concierge/endpoints.yml"

wait_ready publish-api "$PUBLISH_API_URL/health" "${pids[0]}" 60
wait_ready capture-actions "http://127.0.0.1:$ACTIONS_PORT/health" "${pids[3]}" 120
wait_ready concierge "http://$CONCIERGE_HOST:$CONCIERGE_PORT/webhooks/slack/" "${pids[4]}" 180
cat <<EOF
run-local: ready. publish-api $PUBLISH_API_URL, action server http://127.0.0.1:$ACTIONS_PORT,
run-local: Slack webhook http://$CONCIERGE_HOST:$CONCIERGE_PORT/webhooks/slack/webhook, bot pool http://127.0.0.1:$POOL_PORT.
run-local: Ctrl-C stops everything.
EOF

# Until Ctrl-C, or until one service exits: then stop the others too.
status=0
wait -n "${pids[@]}" || status=$?
for i in "${!pids[@]}"; do
  kill -0 "${pids[i]}" 2>/dev/null || echo "run-local: ${names[i]} exited; stopping the rest" >&2
done
stop
exit "$status"
