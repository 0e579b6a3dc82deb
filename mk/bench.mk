# Benchmarks (issue 14): `make bench` runs every script under bench/ (each in its own process,
# PostgreSQL on 127.0.0.1:5432, its own Tansu broker), prints one table of figures beside their
# same-run baselines, writes bench/results.json and the README's table. Not part of `make test`.

.PHONY: bench bench-table

bench: install wrk ## Benchmarks: one table, bench/results.json and the README's table (about 12 min here)
	$(RUN) python bench/run.py

bench-table: install ## Print the benchmark table recorded in bench/results.json (runs nothing)
	$(RUN) python bench/run.py --table
