# AWS rollout targets, included by the root Makefile (`-include deploy/aws/aws.mk`), so
# every path here is relative to the repository root. The CDK app has its own
# package.json; `aws-install` installs it, the broker's own `npm ci` never does.
#
# Offline (no AWS account needed): aws-install aws-synth aws-test aws-bundle aws-smoke
# With AWS credentials:            aws-bootstrap aws-diff aws-deploy aws-rollout
#                                  aws-status aws-logs aws-ssh NODE=n1 aws-destroy

AWS_DIR := deploy/aws
AWS_STACK ?= MomBroker
AWS_RELEASE ?= $(AWS_DIR)/build/release.tar.gz
AWS_INSTANCE_TYPE ?= t3.small
AWS_CERTIFICATE_ARN ?=
AWS_ALLOWED_CIDR ?=
AWS_ALARM_EMAIL ?=
AWS_LOG_LEVEL ?= info
# broadening: cdk asks before widening IAM or security groups; `never` for unattended runs.
AWS_REQUIRE_APPROVAL ?= broadening

AWS_TSX := node --import tsx --no-warnings
AWS_OPS := cd $(AWS_DIR) && STACK=$(AWS_STACK) $(AWS_TSX) scripts/ops.ts
# JSII_DEPRECATED=fail: a deprecated CDK API is an error, like a validation warning.
AWS_CDK := cd $(AWS_DIR) && JSII_DEPRECATED=fail node node_modules/aws-cdk/bin/cdk
AWS_CONTEXT := -c release=$(abspath $(AWS_RELEASE)) -c stackName=$(AWS_STACK) \
  -c instanceType=$(AWS_INSTANCE_TYPE) -c logLevel=$(AWS_LOG_LEVEL) \
  $(if $(AWS_CERTIFICATE_ARN),-c certificateArn=$(AWS_CERTIFICATE_ARN)) \
  $(if $(AWS_ALLOWED_CIDR),-c allowedCidr=$(AWS_ALLOWED_CIDR)) \
  $(if $(AWS_ALARM_EMAIL),-c alarmEmail=$(AWS_ALARM_EMAIL))

.PHONY: aws-install aws-synth aws-test aws-bundle aws-smoke aws-bootstrap aws-diff aws-deploy \
        aws-rollout aws-status aws-logs aws-ssh aws-destroy

aws-install: $(AWS_DIR)/node_modules/.installed

# npm ci only when node_modules is missing or older than the lockfile.
$(AWS_DIR)/node_modules/.installed: $(AWS_DIR)/package.json $(AWS_DIR)/package-lock.json
	cd $(AWS_DIR) && npm ci --no-audit --no-fund --prefer-offline
	@touch $@

# Template, rendering, rollout and bundling tests: offline, no credentials. One test
# loads the rendered node config with the broker's own loader (src/node/config.ts), so
# the broker's dependencies are installed too when they are missing.
aws-test: aws-install $(if $(wildcard node_modules/zod/package.json),,install)
	cd $(AWS_DIR) && node node_modules/typescript/bin/tsc -p tsconfig.json --noEmit
	cd $(AWS_DIR) && JSII_DEPRECATED=fail node --experimental-vm-modules --no-warnings node_modules/jest/bin/jest.js --ci $(JEST_ARGS)

# The release: the broker's dist/ plus production node_modules, as a tarball.
aws-bundle: build aws-install
	cd $(AWS_DIR) && $(AWS_TSX) scripts/bundle.ts $(CURDIR) $(abspath $(AWS_RELEASE))

# The bundled release run as a three-node loopback cluster with the AWS node config.
aws-smoke: aws-bundle
	cd $(AWS_DIR) && $(AWS_TSX) scripts/smoke.ts $(abspath $(AWS_RELEASE))

# CloudFormation template in deploy/aws/cdk.out; --strict turns warnings into errors.
aws-synth: aws-bundle
	$(AWS_CDK) synth --strict --quiet $(AWS_CONTEXT)
	@echo "template: $(AWS_DIR)/cdk.out/$(AWS_STACK).template.json"

aws-bootstrap: aws-install
	@$(AWS_OPS) preflight aws-bootstrap
	@# From an empty directory: inside deploy/aws the CLI would synthesize the app first.
	mkdir -p $(AWS_DIR)/build/bootstrap
	environment=$$($(AWS_OPS) environment) && cd $(AWS_DIR)/build/bootstrap && \
	  node ../../node_modules/aws-cdk/bin/cdk bootstrap "$$environment"

aws-diff: aws-install
	@$(AWS_OPS) preflight aws-diff
	$(MAKE) --no-print-directory aws-bundle
	$(AWS_CDK) diff --strict $(AWS_CONTEXT)

# Bundle, deploy the stack (a new release only changes the release parameter), then
# move the nodes onto it one at a time.
aws-deploy: aws-install
	@$(AWS_OPS) preflight aws-deploy
	$(MAKE) --no-print-directory aws-bundle
	$(AWS_CDK) deploy --strict --require-approval $(AWS_REQUIRE_APPROVAL) $(AWS_CONTEXT)
	$(AWS_OPS) rollout

aws-rollout: aws-install
	@$(AWS_OPS) preflight aws-rollout
	$(AWS_OPS) rollout

aws-status: aws-install
	@$(AWS_OPS) preflight aws-status
	@$(AWS_OPS) status

# NODE=n1 to follow one node; SINCE=1h to look further back.
aws-logs: aws-install
	@$(AWS_OPS) preflight aws-logs
	@NODE=$(NODE) SINCE=$(SINCE) $(AWS_OPS) logs

aws-ssh: aws-install
	@NODE=$(NODE) $(AWS_OPS) preflight aws-ssh
	@NODE=$(NODE) $(AWS_OPS) ssh

# Deletes the stack (no synth needed). Data volumes leave snapshots behind (see README).
aws-destroy: aws-install
	@$(AWS_OPS) preflight aws-destroy
	@NODE= AWS_FORCE=$(AWS_FORCE) $(AWS_OPS) destroy
