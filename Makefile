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
LAMBDAS   := authorizer pretoken adminuser regularuser claims petstore
FUZZTIME  ?= 30s
EVENT     ?= lambdas/internal/tokenauth/testdata/event.json
STACK     ?= SecureApiJwt
# Ports of make local, e.g. LOCAL_FLAGS="-http-port 18080 -rest-port 18081"
LOCAL_FLAGS ?=

NODE_STAMP := node_modules/.installed

help: ## List the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[1m%-18s\033[0m %s\n", $$1, $$2}'

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
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
	$(CDK) synth --quiet

diff: deps ## Show what a deploy would change
	$(CDK) diff $(STACK)

deploy: deps ## Deploy the stack to the current AWS account and region
	$(CDK) deploy $(STACK) --require-approval never --outputs-file cdk.out/outputs.json

destroy: deps ## Delete the stack and everything in it
	$(CDK) destroy $(STACK) --force

test: deps synth ## Every test: unit, fuzz seeds, dynalite, synth snapshot and assertions, cfn-lint, end-to-end local
	go test -race -count=1 $$(go list ./... | grep -v '/test$$' | grep -v '/test/e2e$$')
	go test -count=1 ./test/
	$(MAKE) --no-print-directory e2e-only

e2e: deps synth e2e-only ## End-to-end: the whole stack on free local ports, the walk-through as a test

e2e-only:
	go test -count=1 -v -run TestLocalStack ./test/e2e/ | grep -v '^=== RUN'

local: deps synth ## Run everything on this machine (no AWS account), print the walk-through; Ctrl-C stops it
	@go build -o .build/local ./cmd/local
	@exec .build/local $(LOCAL_FLAGS)

smoke: ## Run the walk-through against the deployed stack (creates and deletes two users)
	go run ./cmd/smoke -stack $(STACK)

snapshot: deps ## Rewrite the golden template after a reviewed infrastructure change
	go test ./test/ -run TestSnapshot -update -count=1

lint: ## gofmt, go mod tidy, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@go mod tidy -diff >/dev/null || { echo "go.mod is not tidy: run go mod tidy"; go mod tidy -diff; exit 1; }
	go vet ./...
	go tool staticcheck ./...

fuzz: ## Fuzz the token and ARN parsing for FUZZTIME each (default 30s)
	go test ./lambdas/internal/tokenauth/ -run '^$$' -fuzz FuzzAuthorizationHeader -fuzztime $(FUZZTIME)
	go test ./lambdas/internal/policy/ -run '^$$' -fuzz FuzzParseMethodARN -fuzztime $(FUZZTIME)
	go test ./lambdas/internal/policy/ -run '^$$' -fuzz FuzzParseRules -fuzztime $(FUZZTIME)

bench: ## Authorizer benchmarks: fresh and repeated tokens vs a bare RSA verification, cold start and peak memory
	go test ./lambdas/internal/jwtauth/ -run '^$$' -bench . -benchmem -count 3
	go test ./lambdas/authorizer/ -run '^$$' -bench ColdStart -benchtime 50x -count 3

invoke-authorizer: ## Run the authorizer once on EVENT with ISSUER, JWKS_URI, AUDIENCE from the environment
	go run ./lambdas/authorizer -event $(EVENT)

clean: ## Remove build output
	rm -rf cdk.out .build .local

.PHONY: help deps build synth diff deploy destroy test e2e e2e-only local smoke snapshot lint fuzz bench invoke-authorizer clean
