// Command authorizer is the API Gateway Lambda authorizer of this module:
// REST TOKEN and REQUEST authorizers and HTTP API Lambda authorizers
// (payload 2.0), told apart by the event. Its environment variables are
// listed in the documentation of package
// github.com/secure-api-go/apigw-jwt/lambdas/authz, which does the work.
// Build it from any module that requires this one:
//
//	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -o bootstrap github.com/secure-api-go/apigw-jwt/lambdas/authorizer
//
// With -event it runs the handler once on an event file instead, reading the
// same environment, and prints the response or the error: the local stand-in
// for the Auth0 guide's lambda-local. Exit codes: 0 response printed, 1 the
// token was refused ("error: Unauthorized") or a fault, 2 bad configuration
// (every problem listed once, on stderr) or a bad event file.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/secure-api-go/apigw-jwt/internal/metrics"
	"github.com/secure-api-go/apigw-jwt/lambdas/authz"
	"github.com/secure-api-go/apigw-jwt/lambdas/internal/emf"
	"github.com/secure-api-go/apigw-jwt/lambdas/jwtverify"
	"github.com/secure-api-go/apigw-jwt/lambdas/policy"
)

func main() {
	eventFile := flag.String("event", "", "run once on this authorizer event JSON file (TOKEN, REQUEST or HTTP API 2.0) and print the result")
	flag.Parse()

	log := authz.NewLogger()
	h, err := authz.FromEnv(os.Getenv, log)
	if err != nil {
		problems := configProblems(err)
		if *eventFile == "" {
			// In Lambda: one JSON line in the function's log, then an init error.
			log.Error("configuration", "problems", problems)
		} else {
			fmt.Fprintf(os.Stderr, "authorizer: %d configuration problem(s):\n", len(problems))
			for _, p := range problems {
				fmt.Fprintln(os.Stderr, "  -", p)
			}
		}
		os.Exit(2)
	}
	if *eventFile == "" {
		// Metrics only in Lambda: with -event, stdout is the response alone.
		h.OnDecision = newRecorder(emf.ForNamespace(os.Getenv(metrics.EnvNamespace)), h).record
		lambda.Start(h.Handle)
		return
	}
	os.Exit(invokeOnce(h, *eventFile))
}

// configProblems lists the problems of a configuration error (errors.Join
// of every one found), without the repeated sentinel prefixes.
func configProblems(err error) []string {
	var out []string
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(line)
		for _, prefix := range []string{jwtverify.ErrConfig.Error() + ": ", policy.ErrRules.Error() + ": "} {
			line = strings.TrimPrefix(line, prefix)
		}
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}

func invokeOnce(h *authz.Handler, path string) int {
	raw, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "authorizer:", err)
		return 2
	}
	if !json.Valid(raw) {
		fmt.Fprintf(os.Stderr, "authorizer: %s is not JSON: want a TOKEN, REQUEST or HTTP API 2.0 authorizer event\n", path)
		return 2
	}
	resp, err := h.Handle(context.Background(), raw)
	if err != nil {
		fmt.Printf("error: %s\n", err)
		return 1
	}
	out, _ := json.MarshalIndent(resp, "", "  ")
	fmt.Println(string(out))
	return 0
}
