"""Benchmarks that start the real stack (gunicorn, Postgres, RabbitMQ) and print one table each."""
