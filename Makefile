# One-line shortcuts over invoke and nox. `make` alone lists them.
# Logic lives in src/slipway; this file only names commands.

# The uv that wrote uv.lock; the Dockerfile copies the same version.
UV_VERSION := 0.13.9
# uv from PATH, or the one `make` installs with pip when there is none.
UV := $(or $(shell command -v uv 2>/dev/null),$(shell python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/uv)
RUN := $(UV) run --locked

.DEFAULT_GOAL := help

.PHONY: help
help:  ## Show this list (in colour only on a terminal)
	@tty=; [ -t 1 ] && tty=1; awk -v tty=$$tty 'BEGIN {FS = ":.*##"; on = tty ? "\033[36m" : ""; off = tty ? "\033[0m" : ""} /^[a-z_-]+:.*##/ {printf "  %s%-10s%s %s\n", on, $$1, off, $$2}' $(MAKEFILE_LIST)

$(UV):
	@echo "uv not found: installing uv==$(UV_VERSION) with pip (see https://docs.astral.sh/uv/ for other ways)"
	python3 -m pip install --quiet "uv==$(UV_VERSION)"

.PHONY: build dev rollback history test lint deploy down logs status check clean
build: | $(UV)  ## Build an image: make build TARGET=dev|test|prod (default prod)
	$(RUN) invoke build --target $(or $(TARGET),prod)
dev: | $(UV)  ## Run the dev stack with live code sync (Ctrl-C stops the watch)
	$(RUN) invoke dev
rollback: | $(UV)  ## Put back the previous healthy prod release
	$(RUN) invoke rollback
history: | $(UV)  ## Show the prod deploys: when, which tag, how they ended
	$(RUN) invoke history
test: | $(UV)  ## Run every check and test: lint, unit, in-container and engine tests
	$(RUN) nox
lint: | $(UV)  ## Run ruff, mypy, hadolint and compose config checks
	$(RUN) nox -s lint
deploy: | $(UV)  ## Build, check and start the prod stack; wait until healthy
	$(RUN) invoke deploy
down: | $(UV)  ## Stop the prod stack (data volumes are kept)
	$(RUN) invoke down
logs: | $(UV)  ## Follow the prod stack's logs
	$(RUN) invoke logs --follow
status: | $(UV)  ## Show what runs in prod, its image and health
	$(RUN) invoke status
check: | $(UV)  ## Check image sizes and non-root users, as a table
	$(RUN) invoke check
clean: | $(UV)  ## Remove the stacks (keeping volumes), .nox and reports
	$(RUN) invoke clean
.PHONY: bench
bench: | $(UV)  ## Measure speed and size against the raw docker CLI: make bench RUNS=5
	$(RUN) invoke bench --runs $(or $(RUNS),5)
.PHONY: prune
prune: | $(UV)  ## Remove release images beyond keep_releases: make prune [ENV=prod]
	$(RUN) invoke prune --env $(or $(ENV),prod)
.PHONY: backup restore
backup: | $(UV)  ## Back up an environment's database: make backup [ENV=prod] [VERIFY=1]
	$(RUN) invoke backup --env $(or $(ENV),prod) $(if $(VERIFY),--verify)
restore: | $(UV)  ## Restore a backup, app stopped then healthy: make restore FILE=... [ENV=prod]
	$(RUN) invoke restore $(FILE) --env $(or $(ENV),prod)
