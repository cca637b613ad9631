.PHONY: run test test-postgres lint typecheck layers check bench bench-compare

# Install, migrate, load demo data, start the app and a worker on http://127.0.0.1:8000.
run:
	./scripts/run-demo

# Install everything and run all tests (unit, integration, browser) on the configured database.
test:
	./scripts/test $(ARGS)

lint:
	uv run ruff check .
	uv run ruff format --check .

typecheck:
	uv run mypy caseload

layers:
	uv run lint-imports

check: lint typecheck layers
	uv run python manage.py makemigrations --check --dry-run

bench:
	uv run python bench/client_list.py

# The app against a bare-Django floor on PostgreSQL, 1k and SCALE clients (README, Benchmark).
bench-compare:
	uv run python bench/compare.py --scale $(or $(SCALE),100k) $(ARGS)
