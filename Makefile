# shop-ai: `make demo` runs the product, `make test` runs the tests. Both set up .venv themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/shop_ai
AMQP_URL ?= amqp://guest:guest@127.0.0.1:5672/

.PHONY: demo test reliability test-sqlite test-postgres install migrate serve bench-ingest bench train-generator evaluate-generator clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch==2.13.0 is the CPU build pip finds on this machine; nothing may pull a CUDA build.
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput

demo: $(STAMP)
	$(BIN)/python manage.py demo

# Runs the suite on Postgres + RabbitMQ when they answer (the tests that touch the database or a broker),
# and always all of it on SQLite + StubBroker.
test: $(STAMP)
	@bash tests/browser_deps.sh
	@bash tests/run_suites.sh

# The whole reliability suite (tests/reliability) on Postgres and the real brokers, summary table at the end.
reliability: $(STAMP)
	DATABASE_URL=$(PG_URL) BROKER_URL=$(AMQP_URL) RELIABILITY_JSON=var/reliability-rabbitmq.json \
		$(BIN)/pytest tests/reliability -m "reliability_full or not reliability_full"
	DATABASE_URL=$(PG_URL) BROKER_URL=redis://127.0.0.1:6379/0 RELIABILITY_JSON=var/reliability-redis.json \
		$(BIN)/pytest tests/reliability -m "broker"

test-sqlite: $(STAMP)
	DATABASE_URL=sqlite:///var/test.sqlite3 BROKER_URL=stub:// $(BIN)/pytest

test-postgres: $(STAMP)
	DATABASE_URL=$(PG_URL) BROKER_URL=$(AMQP_URL) $(BIN)/pytest

serve: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py runserver 127.0.0.1:8000

bench-ingest: $(STAMP)
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) var .pytest_cache

train-generator: $(STAMP)
	$(BIN)/python manage.py train_generator

evaluate-generator: $(STAMP)
	$(BIN)/python manage.py evaluate_generator

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/personas.py
	$(BIN)/python benchmarks/generator_speed.py
	$(BIN)/python benchmarks/upscaler.py
	$(BIN)/python benchmarks/generation_service.py
