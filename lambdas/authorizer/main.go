// Command authorizer is the REST API's TOKEN authorizer Lambda.
//
// With -event it runs the handler once on an event file instead, reading the
// same environment, and prints the policy or the error: the local stand-in
// for the Auth0 guide's lambda-local. Exit codes: 0 policy printed, 1 the
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

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/secure-api-go/apigw-jwt/internal/metrics"
	"github.com/secure-api-go/apigw-jwt/lambdas/internal/emf"
	"github.com/secure-api-go/apigw-jwt/lambdas/jwtverify"
	"github.com/secure-api-go/apigw-jwt/lambdas/authz"
)

func main() {
	eventFile := flag.String("event", "", "run once on this TOKEN authorizer event JSON file and print the result")
	flag.Parse()

	log := authz.NewLogger()
	h, err := authz.NewFromEnv(os.Getenv, log)
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
		// Metrics only in Lambda: with -event, stdout is the policy alone.
		h.Metrics = emf.ForNamespace(os.Getenv(metrics.EnvNamespace))
		lambda.Start(h.Handle)
		return
	}
	os.Exit(invokeOnce(h, *eventFile))
}

// configProblems lists the problems of a configuration error (errors.Join
// of every one found), without the repeated "authorizer configuration:" prefix.
func configProblems(err error) []string {
	var out []string
	for _, line := range strings.Split(err.Error(), "\n") {
		if line = strings.TrimPrefix(strings.TrimSpace(line), jwtverify.ErrConfig.Error()+": "); line != "" {
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
	var ev events.APIGatewayCustomAuthorizerRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		fmt.Fprintf(os.Stderr, "authorizer: %s is not a TOKEN authorizer event: %v\n", path, err)
		return 2
	}
	resp, err := h.Handle(context.Background(), ev)
	if err != nil {
		fmt.Printf("error: %s\n", err)
		return 1
	}
	out, _ := json.MarshalIndent(resp, "", "  ")
	fmt.Println(string(out))
	return 0
}
