package policy_test

import (
	"fmt"
	"log"

	"github.com/secure-api-go/apigw-jwt/lambdas/policy"
)

// The policy for a token in the admin group lists every method its rules
// grant, in the API and stage of the method asked about.
func Example() {
	rules, err := policy.ParseRules(`[
		{"method":"GET",  "resource":"/pets/{petId}", "anyToken":true},
		{"method":"POST", "resource":"/pets",         "groups":["admin"]}]`)
	if err != nil {
		log.Fatal(err)
	}
	arn, err := policy.ParseMethodARN("arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/pets/7")
	if err != nil {
		log.Fatal(err)
	}
	admin := policy.Token{Groups: []string{"admin"}}
	resp, granted := policy.Build("user-1", arn, admin, rules, map[string]any{"sub": "user-1"})
	fmt.Println(granted, resp.PolicyDocument.Statement[0].Effect)
	for _, r := range resp.PolicyDocument.Statement[0].Resource {
		fmt.Println(r)
	}
	post, _ := policy.ParseMethodARN("arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/pets")
	fmt.Println(policy.Allows(post, admin, rules), policy.Allows(post, policy.Token{}, rules))
	// Output:
	// 2 Allow
	// arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/pets/*
	// arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/pets
	// arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/pets/
	// true false
}

// Rules are checked at start: a rule that grants nothing, a wildcard, or a
// path parameter whose '*' would reach a resource granting less.
func ExampleParseRules() {
	_, err := policy.ParseRules(`[
		{"method":"GET", "resource":"/pets/{petId}", "anyToken":true},
		{"method":"GET", "resource":"/pets",         "scopes":["pets.read"]}]`)
	fmt.Println(err)
	// Output:
	// scope rules: the ARN pattern of GET /pets/{petId} (GET/pets/*) also matches requests to GET /pets, which grants less: IAM's '*' spans '/'; grant GET /pets at least the same scopes, groups, clients or anyToken
}
