#!/usr/bin/env bash
# Start the local PostgreSQL, Redis and RabbitMQ if they are installed but down, then check that
# each server the tests use (TEST_DATABASE_URL, TEST_REDIS_URL, TEST_AMQP_URL, same defaults as
# omnistock_devtools.testing) listens. A developer gets a loud warning (those tests skip); under
# CI=true or OMNISTOCK_REQUIRE_SERVERS=1 a server that is still down makes this script fail.
set -uo pipefail

up() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

truthy() { case "${1,,}" in 1 | true | yes | on) return 0 ;; *) return 1 ;; esac; }

# host and port of a URL (scheme://[user[:pw]@]host[:port][/path]), the port defaulting to $2.
host_port() {
  local rest=${1#*://}
  rest=${rest%%/*}
  rest=${rest##*@}
  if [[ $rest == *:* ]]; then echo "${rest%:*} ${rest##*:}"; else echo "${rest:-127.0.0.1} $2"; fi
}

start_postgres() {
  command -v pg_ctlcluster >/dev/null || return 0
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
}
start_redis() {
  command -v redis-server >/dev/null || return 0
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
}
start_rabbitmq() {
  command -v rabbitmq-server >/dev/null || return 0
  echo "starting RabbitMQ"
  rabbitmq-server -detached || true
  for _ in $(seq 1 60); do up 127.0.0.1 5672 && break; sleep 1; done
}

# name | URL the tests use | its standard port (the one the starter listens on) | starter
servers=(
  "PostgreSQL|${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}|5432|start_postgres"
  "Redis|${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}|6379|start_redis"
  "RabbitMQ|${TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}|5672|start_rabbitmq"
)

down=()
for entry in "${servers[@]}"; do
  IFS='|' read -r name url default_port starter <<<"$entry"
  read -r host port < <(host_port "$url" "$default_port")
  # Only a server of this machine on its standard port can be started here.
  if ! up "$host" "$port" && [[ $host =~ ^(127\.0\.0\.1|localhost)$ && $port == "$default_port" ]]; then
    "$starter"
  fi
  if ! up "$host" "$port"; then
    down+=("$name at $url")
  fi
done

required=false
if truthy "${CI:-}" || truthy "${OMNISTOCK_REQUIRE_SERVERS:-}"; then required=true; fi
for server in "${down[@]}"; do
  if $required; then
    echo "!!! $server is NOT reachable: CI=true / OMNISTOCK_REQUIRE_SERVERS=1 requires it !!!" >&2
  else
    echo "!!! $server is NOT reachable: its tests will be SKIPPED !!!" >&2
  fi
done
if $required && ((${#down[@]})); then
  exit 1
fi
exit 0
