#!/usr/bin/env bash
# Creates the configuration of the Docker Compose stack: `.env` (docker-compose.yml's variables,
# incl. the Postgres and RabbitMQ passwords) and each service's `<service>/.env`, from the
# `.env.sample` beside it, with fresh random secrets.
#
# - Never overwrites an existing `.env`; running it again changes nothing. A missing file is
#   created with the secrets the existing files already hold, so the services keep agreeing.
# - A placeholder `__NAME__` in a sample becomes: the value it has in an existing `.env` of the
#   stack (a line `VAR=__NAME__` of a sample says which variable holds it: the broker's
#   API_TOKEN is BROKER_API_TOKEN); else, for API_TOKEN, BROKER_API_TOKEN, ACTIONS_API_TOKEN,
#   BOT_AUTH_TOKEN, ACTIONS_TOKEN, POSTGRES_PASSWORD and RABBITMQ_PASSWORD, a new random
#   secret (openssl); else, for SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL,
#   SLACK_APP_TOKEN (empty by default: the webhook), DOCKER_GID and CONCIERGE_PORT, the
#   environment variable NAME or a default.
# - Files are created readable by their owner only. No secret is printed.
#
# Usage: ./init_config.sh      (SLACK_BOT_TOKEN=xoxb-... SLACK_SIGNING_SECRET=... ./init_config.sh
#                               fills in the Slack app's credentials too)
set -euo pipefail
cd "$(dirname "$0")"

FILES=(.env publish-api/.env publish-broker/.env capture-actions/.env capture-bot/.env)
GENERATED=(API_TOKEN BROKER_API_TOKEN ACTIONS_API_TOKEN BOT_AUTH_TOKEN ACTIONS_TOKEN
           POSTGRES_PASSWORD RABBITMQ_PASSWORD)
declare -A DEFAULTS=(
  [SLACK_BOT_TOKEN]=xoxb-replace-with-your-bot-token
  [SLACK_SIGNING_SECRET]=replace-with-your-signing-secret
  [SLACK_API_URL]=https://slack.com/api/
  [SLACK_APP_TOKEN]=
  [CONCIERGE_PORT]=5005
)

fail() { echo "init_config.sh: $*" >&2; exit 1; }

command -v openssl >/dev/null 2>&1 \
  || fail "openssl is needed to generate secrets and was not found (Debian/Ubuntu: apt-get install openssl)"
for file in "${FILES[@]}"; do
  [ -f "$file.sample" ] || fail "$file.sample is missing: run this script from a complete checkout"
done

# NAME=value lines of the existing files: secrets already in use win over new ones. The sample
# says where a placeholder's value is: the broker's API_TOKEN=__BROKER_API_TOKEN__ holds
# BROKER_API_TOKEN, publish-api's DATABASE_URL=...:__POSTGRES_PASSWORD__@... the password.
declare -A values=()
for file in "${FILES[@]}"; do
  [ -f "$file" ] || continue
  declare -A holds=() before=() after=()
  while IFS='=' read -r name value; do
    [[ $value =~ ^(.*)__([A-Z][A-Z0-9_]*)__(.*)$ ]] || continue
    holds[$name]=${BASH_REMATCH[2]} before[$name]=${BASH_REMATCH[1]} after[$name]=${BASH_REMATCH[3]}
  done <"$file.sample"
  while IFS='=' read -r name value; do
    [[ $name =~ ^[A-Z][A-Z0-9_]*$ ]] || continue
    key=$name
    if [ -n "${holds[$name]:-}" ]; then
      [[ $value == "${before[$name]}"*"${after[$name]}" ]] || continue  # edited by hand
      key=${holds[$name]} value=${value#"${before[$name]}"} value=${value%"${after[$name]}"}
    fi
    [ -z "${values[$key]:-}" ] && values[$key]=$value
  done <"$file"
  unset holds before after
done

docker_gid() {
  local socket=${DOCKER_SOCKET:-/var/run/docker.sock}
  if [ -S "$socket" ]; then stat -c %g "$socket"; return; fi
  echo "init_config.sh: no Docker socket at $socket; DOCKER_GID=0 in .env (set it to the group" \
    "owning the socket where the stack runs)" >&2
  echo 0
}

# value_of NAME: the value of placeholder __NAME__ (sets it once, so every file agrees).
value_of() {
  local name=$1
  if [ -z "${values[$name]:-}" ]; then
    if [[ " ${GENERATED[*]} " == *" $name "* ]]; then
      values[$name]=$(openssl rand -hex 24) || fail "openssl could not generate a secret"
    elif [ "$name" = DOCKER_GID ]; then
      values[$name]=${DOCKER_GID:-$(docker_gid)}
    elif [ -n "${DEFAULTS[$name]+set}" ]; then
      values[$name]=${!name:-${DEFAULTS[$name]}}
    else
      fail "unknown placeholder __${name}__ in a sample"
    fi
  fi
  printf '%s' "${values[$name]}"
}

# render SAMPLE: the sample with every __NAME__ replaced.
render() {
  local line name
  while IFS= read -r line || [ -n "$line" ]; do
    while [[ $line =~ __([A-Z][A-Z0-9_]*)__ ]]; do
      name=${BASH_REMATCH[1]}
      value_of "$name" >/dev/null  # in this shell, not a subshell: remember the value
      line=${line//"__${name}__"/"${values[$name]}"}
    done
    printf '%s\n' "$line"
  done <"$1"
}

created=()
for file in "${FILES[@]}"; do
  [ -e "$file" ] && { echo "init_config.sh: $file exists, left as it is"; continue; }
  tmp=$(mktemp "$file.XXXXXX")
  render "$file.sample" >"$tmp" || { rm -f "$tmp"; fail "could not write $file"; }
  chmod 600 "$tmp"
  mv -n "$tmp" "$file"
  rm -f "$tmp"  # left only if another run created $file meanwhile
  created+=("$file")
done

if ((${#created[@]})); then
  echo "init_config.sh: created ${created[*]} (fresh secrets, readable by you only)"
fi
if grep -qs -e 'replace-with-your' capture-bot/.env publish-broker/.env; then
  echo "init_config.sh: next, put your Slack app's bot token and signing secret into" \
    "capture-bot/.env and publish-broker/.env (README: Connecting Slack)"
fi
