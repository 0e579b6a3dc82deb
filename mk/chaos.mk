# Fault injection (issue 15): the long run of tests/chaos. `make test` runs the same tests with
# a few kill trials; see docs/reliability.md for what they inject and check.

CHAOS_TRIALS ?= 200
CHAOS_ROUNDS ?= 3
CHAOS_REPORT ?= var/chaos/kill-trials.json

.PHONY: chaos

chaos: install ## Fault injection: 200 kill -9 trials, broker outage, PostgreSQL restarts, bad deliveries
	@mkdir -p $(dir $(CHAOS_REPORT))
	@for round in $$(seq 1 $(CHAOS_ROUNDS)); do \
		echo "chaos round $$round of $(CHAOS_ROUNDS): broker outage, PostgreSQL restarts, redeliveries"; \
		$(RUN) pytest -q -p no:cacheprovider tests/chaos \
			--ignore=tests/chaos/test_kill_recovery.py $(PYTEST_ARGS) || exit 1; \
	done
	SHEQU_CHAOS_TRIALS=$(CHAOS_TRIALS) SHEQU_CHAOS_REPORT=$(CHAOS_REPORT) \
		$(RUN) pytest -q -p no:cacheprovider -s tests/chaos/test_kill_recovery.py $(PYTEST_ARGS)
	@echo "kill -9 trials: $(CHAOS_REPORT)"
