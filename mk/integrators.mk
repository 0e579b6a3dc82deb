# Integrators (issue 16): the AsyncAPI document's validation, the contracts wheel, the sample
# consumer. The AsyncAPI CLI is an npm package, pinned here and installed into .tools/ (not
# committed), so nothing is installed globally.

ASYNCAPI_CLI_VERSION ?= 6.2.0
ASYNCAPI_DIR := .tools/asyncapi-$(ASYNCAPI_CLI_VERSION)
ASYNCAPI := $(ASYNCAPI_DIR)/node_modules/.bin/asyncapi
# No usage analytics from the CLI (its config file says so) and no node-config warnings.
ASYNCAPI_ENV := ASYNCAPI_METRICS_CONFIG_PATH=$(CURDIR)/$(ASYNCAPI_DIR)/analytics.json \
	SUPPRESS_NO_CONFIG_WARNING=1 SUPPRESS_STRICTNESS_CHECK=1

.PHONY: asyncapi-cli asyncapi-lint contracts-wheel

lint: asyncapi-lint

$(ASYNCAPI):
	@command -v npm >/dev/null 2>&1 || { \
		echo "npm not found: asyncapi-lint needs Node.js 20+ and npm (apt-get install nodejs npm)" >&2; \
		exit 1; }
	npm install --prefix $(ASYNCAPI_DIR) --no-audit --no-fund --loglevel=error \
		@asyncapi/cli@$(ASYNCAPI_CLI_VERSION)
	@echo '{"analyticsEnabled":"false","infoMessageShown":"true","userID":"shequ-ci"}' \
		> $(ASYNCAPI_DIR)/analytics.json

asyncapi-cli: $(ASYNCAPI) ## Install the pinned AsyncAPI CLI (npm) into .tools/

asyncapi-lint: $(ASYNCAPI) ## Validate docs/asyncapi.yaml with the AsyncAPI CLI: no error, no warning
	$(ASYNCAPI_ENV) $(ASYNCAPI) validate docs/asyncapi.yaml --fail-severity=warn

contracts-wheel: install ## Build the shequ-contracts wheel (event models only) into dist/
	$(UV) build --wheel --out-dir dist contracts
