# Secure API Gateway with JWTs - Go CDK app. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DEFAULT_GOAL := help

# jsii (the CDK's Go bridge) warns loudly on Node 20; the app works on it.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export npm_config_update_notifier := false
export npm_config_fund := false
export npm_config_audit := false

CDK       := npx --no-install cdk
LAMBDAS   := authorizer pretoken adminuser regularuser claims petstore jwksseed
# Variables: a `#> ` line above one is its make help text.
#> how long make fuzz runs each fuzz target
FUZZTIME  ?= 30s
#> the event make invoke-authorizer sends
EVENT     ?= lambdas/authz/testdata/token-event.json
#> the stack make diff, deploy, destroy and smoke act on
STACK     ?= SecureApiJwt
#> cdk context for synth, local, diff, deploy, destroy: "key=value key2=value2", each passed as -c key=value
CONTEXT   ?=
#> flags of make local: -http-port 8080 -rest-port 8081 -cognito-port 9229 -dynamodb-port 8000 -lambda-port 9001 -token-port 9230 (0: any free port), -synth auto|always|never
LOCAL_FLAGS ?=
# make token USER=adminuser: USER from the command line only (the environment's USER is your login).
TOKEN_USER := $(if $(filter command line,$(origin USER)),$(USER),)
#> make token: CLIENT=machine for a client-credentials token
CLIENT    ?=
#> make token: scopes of a machine token, e.g. petstore/pets.read (default: all the client's)
SCOPE     ?=
#> make token: token, or claims (decoded, not verified)
FORMAT    ?= token
#> off skips the AWS credentials and region check of deploy, diff, destroy, smoke (e.g. on EC2 with an instance role)
AWS_CHECK ?= on

# First runs compile the AWS CDK Go module (huge) and the AWS SDK: say so, or it looks hung.
FIRST_RUN := the first run on a machine compiles the AWS CDK Go module and the Lambdas: several minutes; later runs about a minute

NODE_STAMP := node_modules/.installed

# CONTEXT as cdk arguments, and the record of it that cmd/local compares
# (cmd/local/context.go: cdk.out/.context, the sorted pairs one a line).
# Every cdk command below writes cdk.out, so each drops the record before it
# runs and writes it only when it succeeds.
CDK_CONTEXT    := $(foreach kv,$(sort $(CONTEXT)),-c '$(kv)')
CONTEXT_RECORD := cdk.out/.context
DROP_CONTEXT   := rm -f $(CONTEXT_RECORD)
SAVE_CONTEXT   := printf '%s\n' $(foreach kv,$(sort $(CONTEXT)),'$(kv)') | grep -v '^$$' > $(CONTEXT_RECORD) || true

help: ## List the targets and the variables
	@if [ -t 1 ]; then b=$$(printf '\033[1m'); n=$$(printf '\033[0m'); fi; export b n; \
	echo "Targets:"; \
	grep -hE '^[a-z][a-z0-9-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %s%-18s%s %s\n", ENVIRON["b"], $$1, ENVIRON["n"], $$2}'; \
	echo "Variables (make TARGET NAME=value; default in brackets):"; \
	awk '/^#> /{doc=substr($$0,4); next} doc && /^[A-Z_]+ *\?=/{name=$$1; val=$$0; sub(/^[^=]*\?= */,"",val); printf "  %s%-18s%s %s [%s]\n", ENVIRON["b"], name, ENVIRON["n"], doc, (val == "" ? "empty" : val)} {doc=""}' $(MAKEFILE_LIST)
	@echo "Environment: AWS_PROFILE, AWS_REGION (deploy, diff, destroy, smoke); LOCAL_ADMINUSER_PASSWORD, LOCAL_REGULARUSER_PASSWORD (local);"
	@echo "  ISSUER, JWKS_URI, AUDIENCE (invoke-authorizer); make token USER=adminuser [PASSWORD=...] on the command line."

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@node -e 'const v = +process.versions.node.split(".")[0]; if (v < 22) console.log(`note: Node $${process.version} is past its end of life; Node 22 or 24 LTS is recommended (package.json engines). The tools still run on it.`)'
	@# node_modules ships .go templates; a go.mod there keeps them out of ./...
	echo 'module ignore_node_modules' > node_modules/go.mod
	touch $@

deps: $(NODE_STAMP) ## Install the pinned Node tools (cdk CLI, cognito-local, dynalite) and Go modules
	go mod download

build: ## Build every Lambda for arm64 into .build/ and show the sizes
	@for fn in $(LAMBDAS); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -trimpath -buildvcs=false -ldflags '-s -w' \
			-o .build/arm64/$$fn/bootstrap ./lambdas/$$fn || exit 1; \
	done
	@ls -l .build/arm64/*/bootstrap | awk '{printf "  %-40s %6.1f MiB\n", $$9, $$5/1048576}'

synth: deps ## Synthesize the stack (cdk-nag included) into cdk.out/
	@echo "cdk synth into cdk.out/ ($(FIRST_RUN))"
	@$(DROP_CONTEXT)
	$(CDK) synth --quiet $(CDK_CONTEXT)
	@$(SAVE_CONTEXT)

# aws-check: one clear line when no AWS credentials or region are configured,
# before any synth (environment and ~/.aws files only, no network call).
aws-check:
	@[ "$(AWS_CHECK)" = off ] || { go build -o .build/awscheck ./cmd/awscheck && .build/awscheck $(firstword $(filter diff deploy destroy smoke,$(MAKECMDGOALS))); }

diff: aws-check deps ## Show what a deploy would change
	@$(DROP_CONTEXT)
	$(CDK) diff $(STACK) $(CDK_CONTEXT)
	@$(SAVE_CONTEXT)

deploy: aws-check deps ## Deploy the stack to the current AWS account and region
	@$(DROP_CONTEXT)
	$(CDK) deploy $(STACK) --require-approval never --outputs-file cdk.out/outputs.json $(CDK_CONTEXT)
	@$(SAVE_CONTEXT)

destroy: aws-check deps ## Delete the stack and everything in it
	@$(DROP_CONTEXT)
	$(CDK) destroy $(STACK) --force $(CDK_CONTEXT)
	@$(SAVE_CONTEXT)

test: deps synth ## Every test: unit, fuzz seeds, dynalite, synth snapshot and assertions, cfn-lint, end-to-end local
	@echo "Compiling and running the unit tests with -race (the first run compiles the AWS SDK and the CDK app: several minutes; later runs about a minute)"
	go test -race -count=1 $$(go list ./... | grep -v '/test$$' | grep -v '/test/e2e$$')
	go test -count=1 ./test/
	$(MAKE) --no-print-directory e2e-only

e2e: deps synth e2e-only ## End-to-end: the whole stack on free local ports, the walk-through as a test

# The walk-through runs twice: on cdk.out (restAuthorizer=lambda) and on the
# restAuthorizer=jwt variant, synthesized here into its own directory.
e2e-only: ## The end-to-end scenario on cdk.out as it is and on a restAuthorizer=jwt synth (make test runs it last)
	@echo "End-to-end: synthesizing the restAuthorizer=jwt variant into .build/cdk.out-jwt"
	$(CDK) synth --quiet -c restAuthorizer=jwt -o .build/cdk.out-jwt
	@echo "End-to-end: compiling the test and the seven Lambdas for this machine (first run: a few minutes), then the scenario in both modes"
	go test -count=1 -v -run TestLocalStack ./test/e2e/ | grep -v '^=== RUN'

# local checks the lock and the ports first, then synthesizes only when cdk.out/
# is older than the sources (cmd/local does both), so it does not depend on synth.
local: deps ## Run everything on this machine (no AWS account), print the walk-through; Ctrl-C stops it
	@echo "Building the local runner (the first run compiles the AWS SDK: about a minute)"
	@go build -o .build/local ./cmd/local
	@exec .build/local -context '$(CONTEXT)' $(LOCAL_FLAGS)

token: ## Print a token: USER=adminuser [PASSWORD=...] (ID token) or CLIENT=machine [SCOPE=petstore/pets.read]; FORMAT=claims decodes it (unverified)
	@go build -o .build/token ./cmd/token && .build/token -user '$(TOKEN_USER)' -client '$(CLIENT)' -scope '$(SCOPE)' -format '$(FORMAT)' -stack '$(STACK)'

smoke: aws-check ## Run the walk-through against the deployed stack (creates and deletes two users)
	go run ./cmd/smoke -stack $(STACK)

snapshot: deps ## Rewrite the golden template after a reviewed infrastructure change
	go test ./test/ -run TestSnapshot -update -count=1

lint: ## gofmt, go mod tidy, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@go mod tidy -diff >/dev/null || { echo "go.mod is not tidy: run go mod tidy"; go mod tidy -diff; exit 1; }
	go vet ./...
	go tool staticcheck ./...

fuzz: ## Fuzz the token and ARN parsing and the policy allow-list for FUZZTIME each (default 30s)
	go test ./lambdas/authz/ -run '^$$' -fuzz FuzzAuthorizationHeader -fuzztime $(FUZZTIME)
	go test ./lambdas/authz/ -run '^$$' -fuzz FuzzEvent -fuzztime $(FUZZTIME)
	go test ./lambdas/jwtverify/ -run '^$$' -fuzz FuzzCheckPayload -fuzztime $(FUZZTIME)
	go test ./lambdas/jwtverify/ -run '^$$' -fuzz FuzzCheckSyntax -fuzztime $(FUZZTIME)
	go test ./lambdas/policy/ -run '^$$' -fuzz FuzzParseMethodARN -fuzztime $(FUZZTIME)
	go test ./lambdas/policy/ -run '^$$' -fuzz FuzzParseRules -fuzztime $(FUZZTIME)
	go test ./lambdas/policy/ -run '^$$' -fuzz FuzzAllowList -fuzztime $(FUZZTIME)

bench: ## Authorizer benchmarks: fresh and repeated tokens vs a bare RSA verification, cold start with and without JWKS_JSON, peak memory
	go test ./lambdas/jwtverify/ -run '^$$' -bench . -benchmem -count 3
	go test ./lambdas/authorizer/ -run '^$$' -bench ColdStart -benchtime 50x -count 3

invoke-authorizer: ## Run the authorizer once on EVENT with ISSUER, JWKS_URI, AUDIENCE from the environment
	@go build -o .build/authorizer ./lambdas/authorizer && exec .build/authorizer -event $(EVENT)

clean: ## Remove build output
	rm -rf cdk.out .build .local

.PHONY: help deps build synth aws-check diff deploy destroy test e2e e2e-only local token smoke snapshot lint fuzz bench invoke-authorizer clean
