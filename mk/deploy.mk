# Deploy (issue 13): service images and Kubernetes manifests, and the checks that they work.
# docs/deploy.md explains every piece.

.PHONY: images check-images check-deploy deploy-render deploy-tools

# checkov and kubernetes-validate live in their own venv, pinned here, so that they never
# touch the workspace's uv.lock (checkov alone brings ~100 packages).
DEPLOY_TOOLS ?= .venv-tools
CHECKOV_VERSION := 3.3.30
KUBERNETES_VALIDATE_VERSION := 1.37.0
DEPLOY_TOOLS_STAMP := $(DEPLOY_TOOLS)/.installed-checkov-$(CHECKOV_VERSION)-kv-$(KUBERNETES_VALIDATE_VERSION)

$(DEPLOY_TOOLS_STAMP):
	$(UV) venv -q --allow-existing --python 3.11 $(DEPLOY_TOOLS)
	$(UV) pip install -q --python $(DEPLOY_TOOLS)/bin/python \
		checkov==$(CHECKOV_VERSION) kubernetes-validate==$(KUBERNETES_VALIDATE_VERSION)
	touch $@

deploy-tools: $(DEPLOY_TOOLS_STAMP) ## Install the pinned checkov and kubernetes-validate into .venv-tools

deploy-render: install ## Rewrite the generated manifests of deploy/k8s and the Dockerfiles from the code
	$(RUN) python deploy/k8s/render.py
	$(RUN) python deploy/docker/render.py

check-deploy: install deploy-tools ## Manifests up to date with the code, rendered, validated (kubernetes-validate, CRD schemas, checkov)
	$(RUN) python deploy/docker/render.py --check
	$(RUN) python deploy/k8s/render.py --check
	$(DEPLOY_TOOLS)/bin/python deploy/k8s/check.py

images: install ## Build the five service images offline from a uv-made wheelhouse (starts dockerd, makes the base if missing)
	$(RUN) python deploy/docker/images.py build

check-images: install ## Build the images and run each against Tansu and PostgreSQL: /readyz, non-root, read-only root
	$(RUN) python deploy/docker/images.py check

test: check-deploy
