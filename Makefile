# The front door. Every target installs what it needs first, so a fresh clone
# runs `make test` or `make cluster` with nothing else typed.
SHELL := /bin/bash
NODES ?= 3
SEEDS ?= 1000
SEED ?= 1
DURATION ?= 60
JEST := node --experimental-vm-modules --no-warnings node_modules/jest/bin/jest.js
TSX := node --import tsx --no-warnings

.PHONY: install build typecheck lint test test-unit sim cluster cluster-clean \
        bench bench-compare bench-raft bench-node bench-broker bench-broker-memory bench-api bench-log-store chaos clean

install: node_modules/.installed

# npm ci only when node_modules is missing or older than the lockfile.
node_modules/.installed: package-lock.json package.json
	npm ci --no-audit --no-fund
	@touch $@

build: install
	npx tsc -p tsconfig.build.json
	chmod +x dist/cli/main.js

# src, test and scripts; then the AWS app, which has its own package.json and tsconfig.
typecheck: install aws-install
	npx tsc -p tsconfig.json --noEmit
	cd deploy/aws && node node_modules/typescript/bin/tsc -p tsconfig.json --noEmit

# typescript-eslint's type-checked rules (eslint.config.js says which are off and why).
lint: install
	node node_modules/eslint/bin/eslint.js --max-warnings 0 src test scripts

# Unit, simulation, process and API tests. Process tests run the built dist/.
test: build
	$(JEST) --ci $(JEST_ARGS)

test-unit: install
	$(JEST) --ci test/raft test/broker $(JEST_ARGS)

sim: install
	$(TSX) scripts/sim.ts --seeds $(SEEDS) $(if $(START),--start $(START)) $(if $(NODES_SIM),--nodes $(NODES_SIM))

cluster: build
	$(TSX) scripts/cluster.ts --nodes $(NODES)

cluster-clean:
	rm -rf data

bench-raft: install
	$(TSX) scripts/bench-raft.ts

bench-node: build
	$(TSX) scripts/bench-node.ts

bench-log-store: install
	$(TSX) scripts/bench-log-store.ts

bench-broker: install
	node --expose-gc --import tsx --no-warnings scripts/bench-broker.ts

# Memory per queued message of the broker alone, at the node's heap limit.
bench-broker-memory: install
	node --expose-gc --max-old-space-size=512 --import tsx --no-warnings scripts/bench-broker-memory.ts --messages 1000000
	node --expose-gc --max-old-space-size=512 --import tsx --no-warnings scripts/bench-broker-memory.ts --messages 5000000

# The REST layer alone (no Raft): server CPU per request against a bare Node server.
bench-api: build
	$(TSX) scripts/bench-api.ts $(BENCH_API_ARGS)

bench: build
	$(TSX) scripts/bench.ts

# This broker and RabbitMQ quorum queues side by side (needs Debian's rabbitmq-server;
# says how to install it if missing). BENCH_RUNS, BENCH_DURATION (s), BENCH_ROWS=1,2,...
bench-compare: build
	$(TSX) scripts/bench-compare.ts

chaos: build
	$(TSX) scripts/chaos.ts --nodes $(NODES) --seed $(SEED) --duration $(DURATION) $(if $(WORKLOAD),--workload $(WORKLOAD))

clean:
	rm -rf dist coverage

# ---- AWS rollout: the targets (aws-install, aws-synth, aws-test, aws-bundle,
# aws-bootstrap, aws-diff, aws-deploy, aws-rollout, aws-status, aws-logs, aws-ssh,
# aws-destroy) live beside the CDK app, which has its own package.json.
-include deploy/aws/aws.mk
