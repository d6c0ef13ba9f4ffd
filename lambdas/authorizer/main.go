// Command authorizer is the REST API's TOKEN authorizer Lambda.
//
// With -event it runs the handler once on an event file instead, reading the
// same environment, and prints the policy or the error: the local stand-in
// for the Auth0 guide's lambda-local.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/secure-api-go/apigw-jwt/internal/metrics"
	"github.com/secure-api-go/apigw-jwt/lambdas/internal/emf"
	"github.com/secure-api-go/apigw-jwt/lambdas/internal/tokenauth"
)

func main() {
	eventFile := flag.String("event", "", "run once on this TOKEN authorizer event JSON file and print the result")
	flag.Parse()

	log := tokenauth.NewLogger()
	h, err := tokenauth.NewFromEnv(os.Getenv, log)
	if err != nil {
		log.Error("configuration", "error", err.Error())
		fmt.Fprintln(os.Stderr, "authorizer:", err)
		os.Exit(1)
	}
	if *eventFile == "" {
		// Metrics only in Lambda: with -event, stdout is the policy alone.
		h.Metrics = emf.ForNamespace(os.Getenv(metrics.EnvNamespace))
		lambda.Start(h.Handle)
		return
	}
	os.Exit(invokeOnce(h, *eventFile))
}

func invokeOnce(h *tokenauth.Handler, path string) int {
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
