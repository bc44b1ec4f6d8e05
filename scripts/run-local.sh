#!/usr/bin/env bash
# `make run`: the whole product as local processes, no Docker needed — publish-api, the bot pool
# (every owner's bot in one process), the broker, the action server and the Slack concierge, and,
# without a real SLACK_BOT_TOKEN, the playground: a local Slack workspace in the browser
# (playground/) that the concierge and the broker talk to instead of slack.com.
#
# Every variable has a development default (README "Running locally"): without DATABASE_URL /
# QUEUE_URL it runs on SQLite files in the var directory, for the data and as the publish queue
# (kombu's `sqla+sqlite://` transport), so nothing else needs installing.
# The terminal gets one line per service when it is ready, the addresses to open, and errors;
# each process's whole output (warnings included) goes to <var>/log/<name>.log. Each owner's
# models are in <var>/bots/<bot>/. Ctrl-C (or SIGTERM) stops everything, bots included.
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
default PLAYGROUND_API_TOKEN dev-playground-api-token-change-me
default BOT_AUTH_TOKEN dev-bot-token-change-me
default ACTIONS_TOKEN dev-actions-token-change-me
# Without a real bot token, Slack is the playground: SLACK_API_URL points at its Web API.
playground=false
[ -n "${SLACK_BOT_TOKEN:-}" ] || playground=true
default SLACK_BOT_TOKEN xoxb-dev-not-a-real-token
default SLACK_SIGNING_SECRET dev-signing-secret-change-me
default PLAYGROUND_PORT 5080
if $playground; then
  default SLACK_API_URL "http://127.0.0.1:$PLAYGROUND_PORT/api/"
else
  default SLACK_API_URL https://slack.com/api/
fi
default DATABASE_URL "sqlite:///$var/publish-api.sqlite3"
# BROKER_URL is QUEUE_URL's deprecated name: still read (the services say so in their logs).
[ -z "${BROKER_URL:-}" ] || echo "run-local: BROKER_URL is deprecated: name it QUEUE_URL" >&2
default QUEUE_URL "${BROKER_URL:-sqla+sqlite:///$var/celery-broker.sqlite3}"
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
# Rasa's environment (no telemetry, no training cache, one BLAS thread per process), as
# publish-broker/publish_broker/rasa_env.py writes it.
rasa_env=$(PYTHONPATH="$repo/publish-broker" "$rasa_python" -m publish_broker.rasa_env)
while IFS== read -r name value; do export "$name=$value"; done <<<"$rasa_env"
[ "$BOT_RUNTIME" = process ] || die "BOT_RUNTIME=$BOT_RUNTIME: make run runs bots in a local pool"

show_settings() {
  echo "run-local: data in $var, logs in $var/log"
  echo "run-local: database ${DATABASE_URL%%:*}, publish queue ${QUEUE_URL%%:*}"
  local name
  for name in "${defaulted[@]}"; do
    case $name in
      *TOKEN|SLACK_SIGNING_SECRET) echo "run-local: $name=${!name} (development default)" \
        >>"$var/log/run-local.log" ;;
    esac
  done
  echo "run-local: tokens are development defaults (listed in $var/log/run-local.log)"
}

# Each service runs in its own process group (job control), so the terminal's Ctrl-C reaches
# only this script, which then stops them in reverse order and waits for them.
set -m
pids=() names=() offsets=()
# start NAME COMMAND...: run in the background; output to <var>/log/NAME.log, and its error
# lines (ERROR, CRITICAL, a traceback's last line), prefixed, here.
start() {
  local name=$1; shift
  offsets+=("$(stat -c %s "$var/log/$name.log" 2>/dev/null || echo 0)")
  "$@" > >(trap '' INT TERM; tee -a "$var/log/$name.log" | errors_of "$name") 2>&1 &
  pids+=("$!") names+=("$name")
}
errors_of() {
  grep --line-buffered -E '(^|[^A-Za-z])(ERROR|CRITICAL|FATAL)([^A-Za-z]|$)|^[A-Za-z_.]*(Error|Exception): ' \
    | sed -u "s/^/$(printf '%-15s' "$1")| /" >&2
}
# pid_of NAME, offset_of NAME: a service's process, and where this run's part of its log begins.
pid_of() { of_service "$1" pids; }
offset_of() { of_service "$1" offsets; }
of_service() {
  local i
  local -n values=$2
  for i in "${!names[@]}"; do
    if [ "${names[i]}" = "$1" ]; then echo "${values[i]}"; fi
  done
}
# ready NAME ADDRESS: the one line a service gets when it answers.
ready() { printf 'run-local: %-15s ready  %s\n' "$1" "$2"; }

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

# wait_ready NAME URL TIMEOUT: poll URL until it answers 200; fail if service NAME exits first
# (showing the end of its log). URL may be log:TEXT, to wait for TEXT in this run's part of the
# service's log.
wait_ready() {
  "$rasa_python" - "$1" "$2" "$(pid_of "$1")" "$3" "$var/log/$1.log" "$(offset_of "$1")" <<'EOF' \
    || { tail -n 20 "$var/log/$1.log" >&2; stop; exit 1; }
import os, sys, time, urllib.request
name, url, pid, timeout, log, offset = (sys.argv[1], sys.argv[2], int(sys.argv[3]),
                                        float(sys.argv[4]), sys.argv[5], int(sys.argv[6]))
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
        if url.startswith("log:"):
            with open(log, "rb") as lines:
                lines.seek(offset)
                if url[4:].encode() in lines.read():
                    sys.exit(0)
        else:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    sys.exit(0)
    except ProcessLookupError:
        sys.exit(f"run-local: {name} exited; the end of {log}:")
    except OSError:
        pass
    time.sleep(0.5)  # polling interval, bounded by the deadline
sys.exit(f"run-local: {name} did not become ready within {timeout:.0f} s; the end of {log}:")
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
(cd publish-api && "$api_python" -m publish_api migrate) >>"$var/log/publish-api.log" 2>&1 \
  || { tail -n 20 "$var/log/publish-api.log" >&2; die "publish-api migrations failed"; }
start publish-api env -C publish-api "$api_python" -m publish_api serve
if $playground; then
  # Its side panel reads owners' topics, bots and ask log with PLAYGROUND_API_TOKEN, which
  # publish-api lets read only those.
  start playground env -C playground PYTHONPATH="$repo/playground" \
    CONCIERGE_URL="http://$CONCIERGE_HOST:$CONCIERGE_PORT" "$api_python" -m playground
fi
# Every owner's bot, in one process; before the broker, which otherwise starts a pool of its own.
start bot-pool env -C publish-broker PYTHONPATH="$repo/publish-broker" \
  POOL_MODELS_DIR="$BOT_MODELS_DIR" POOL_HOST=127.0.0.1 POOL_PORT="$POOL_PORT" \
  "$rasa_python" -m publish_broker.pool
# The concierge takes longest to start (Rasa and TensorFlow load its model): it starts as soon
# as its model exists, while the others start. `python -m connectors run` is `rasa run` without
# third-party deprecation notices (capture-bot/connectors/__main__.py).
concierge_model || { stop; exit 1; }
start concierge env -C capture-bot PYTHONPATH="$repo/capture-bot" \
  "$rasa_python" -m connectors run -m "$var/concierge/concierge.tar.gz" -i "$CONCIERGE_HOST" \
  -p "$CONCIERGE_PORT" --credentials credentials.yml --endpoints "$var/concierge/endpoints.yml"
wait_ready bot-pool "http://127.0.0.1:$POOL_PORT/health" 60
ready bot-pool "http://127.0.0.1:$POOL_PORT"
# The broker and the action server call publish-api with tokens of their own (API_TOKEN in
# their environment), which reach only the routes each needs.
# Gossip, mingle and heartbeats need a broadcasting transport; the SQLite one has none. The pool
# (prefork, one child, which enforces the tasks' time limits) is the app's own setting.
start publish-broker env -C publish-broker PYTHONPATH="$repo/publish-broker" API_TOKEN="$BROKER_API_TOKEN" \
  "$rasa_python" -m celery --quiet -A publish_broker.make_celery worker --beat --loglevel INFO \
  --without-gossip --without-mingle --without-heartbeat --hostname "run-local@%h"
# rasa-sdk (behind ACTIONS_TOKEN) listens on all interfaces unless SANIC_HOST says otherwise.
start capture-actions env -C capture-actions PYTHONPATH="$repo/capture-actions" SANIC_HOST=127.0.0.1 \
  API_TOKEN="$ACTIONS_API_TOKEN" \
  "$rasa_python" -m actions.server --actions actions -p "$ACTIONS_PORT"
wait_ready publish-api "$PUBLISH_API_URL/health" 60
ready publish-api "$PUBLISH_API_URL"
if $playground; then
  wait_ready playground "http://127.0.0.1:$PLAYGROUND_PORT/health" 60
  ready playground "http://127.0.0.1:$PLAYGROUND_PORT (Slack stand-in: $SLACK_API_URL)"
fi
# Ready once its child has imported Rasa and trained once (the first publish is then warm).
wait_ready publish-broker "log:publish-broker worker is warm" 300
ready publish-broker "queue $PUBLISH_QUEUE on ${QUEUE_URL%%:*}"
wait_ready capture-actions "http://127.0.0.1:$ACTIONS_PORT/health" 120
ready capture-actions "http://127.0.0.1:$ACTIONS_PORT"
wait_ready concierge "http://$CONCIERGE_HOST:$CONCIERGE_PORT/webhooks/slack/" 240
ready concierge "http://$CONCIERGE_HOST:$CONCIERGE_PORT/webhooks/slack/webhook"
if $playground; then
  echo "run-local: ready. Open http://127.0.0.1:$PLAYGROUND_PORT : a local Slack workspace with the concierge."
  echo "run-local: (a real Slack app instead: SLACK_BOT_TOKEN=xoxb-... SLACK_SIGNING_SECRET=... make run)"
else
  echo "run-local: ready. Slack sends events to http://$CONCIERGE_HOST:$CONCIERGE_PORT/webhooks/slack/webhook (README: Connecting Slack)."
fi
echo "run-local: logs in $var/log. Ctrl-C stops everything."

# Until Ctrl-C, or until one service exits: then stop the others too.
status=0
wait -n "${pids[@]}" || status=$?
for i in "${!pids[@]}"; do
  if ! kill -0 "${pids[i]}" 2>/dev/null; then
    echo "run-local: ${names[i]} exited; stopping the rest. The end of $var/log/${names[i]}.log:" >&2
    tail -n 20 "$var/log/${names[i]}.log" >&2
  fi
done
stop
exit "$status"
