#!/usr/bin/env bash
# Run the test suite on every backend this machine offers: Postgres + RabbitMQ (and Redis for
# the broker tests) when they answer, then SQLite + dramatiq's StubBroker, which always works.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/shop_ai}
AMQP_URL=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}

answers() {  # host port
  $PY - "$1" "$2" <<'PYEOF'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
except OSError:
    sys.exit(1)
PYEOF
}

status=0
if answers 127.0.0.1 5432 && answers 127.0.0.1 5672; then
  echo "== Postgres + RabbitMQ =="
  # Tests that touch neither the database nor a broker run once, in the SQLite pass below.
  BACKEND_TESTS_ONLY=1 DATABASE_URL=$PG_URL BROKER_URL=$AMQP_URL .venv/bin/pytest "$@" || status=1
else
  echo "== Postgres or RabbitMQ not answering: skipping that pass =="
fi
if answers 127.0.0.1 5432 && answers 127.0.0.1 6379; then
  echo "== Postgres + Redis (broker tests) =="
  DATABASE_URL=$PG_URL BROKER_URL=redis://127.0.0.1:6379/0 .venv/bin/pytest -m "broker and not reliability_full" "$@" || status=1
fi
echo "== SQLite + StubBroker =="
DATABASE_URL=sqlite:///var/test.sqlite3 BROKER_URL=stub:// .venv/bin/pytest "$@" || status=1
exit $status
