#!/usr/bin/env bash
# Best effort: start the local PostgreSQL, Redis and RabbitMQ if they are installed but down.
# Tests that need a server that is still absent are skipped with a loud banner.
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! up 5432 && command -v pg_ctlcluster >/dev/null; then
  echo "starting PostgreSQL"; pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if ! up 6379 && command -v redis-server >/dev/null; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
if ! up 5672 && command -v rabbitmq-server >/dev/null; then
  echo "starting RabbitMQ"; rabbitmq-server -detached || true
  for _ in $(seq 1 60); do up 5672 && break; sleep 1; done
fi
for port in 5432 6379 5672; do up "$port" || echo "!!! nothing listens on 127.0.0.1:$port: its tests will be SKIPPED !!!"; done
exit 0
