package authz_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
	"github.com/secure-api-go/apigw-jwt/lambdas/authz"
	"github.com/secure-api-go/apigw-jwt/lambdas/jwtverify"
	"github.com/secure-api-go/apigw-jwt/lambdas/policy"
)

// A TOKEN authorizer built from the library: the policy allows what the
// rules grant the token, in the whole API and stage.
func Example() {
	idp, err := testjwt.New("key-1") // a stand-in IdP serving its JWKS on loopback
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()

	v, err := jwtverify.New(jwtverify.Config{Issuers: []jwtverify.Issuer{{
		Issuer: "https://idp.example.com/", JWKSURI: idp.JWKSURI(), Audiences: []string{"my-client-id"},
	}}})
	if err != nil {
		log.Fatal(err)
	}
	rules, err := policy.ParseRules(`[
		{"method":"GET",  "resource":"/pets", "anyToken":true},
		{"method":"POST", "resource":"/pets", "groups":["admin"]}]`)
	if err != nil {
		log.Fatal(err)
	}
	h := &authz.Handler{Verifier: v, Rules: rules}

	token, _ := idp.Sign(jwt.MapClaims{"iss": "https://idp.example.com/", "sub": "user-1", "aud": "my-client-id",
		"cognito:groups": []string{"admin"}, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
	resp, err := h.HandleToken(context.Background(), events.APIGatewayCustomAuthorizerRequest{
		Type: "TOKEN", AuthorizationToken: "Bearer " + token,
		MethodArn: "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/pets",
	})
	fmt.Println(resp.PrincipalID, resp.PolicyDocument.Statement[0].Effect, err)
	for _, r := range resp.PolicyDocument.Statement[0].Resource {
		fmt.Println(r)
	}

	_, err = h.HandleToken(context.Background(), events.APIGatewayCustomAuthorizerRequest{
		Type: "TOKEN", AuthorizationToken: "Bearer not.a.token", MethodArn: "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/pets",
	})
	fmt.Println(err)
	// Output:
	// user-1 Allow <nil>
	// arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/pets
	// arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/pets/
	// arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/pets
	// arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/pets/
	// Unauthorized
}

// FromEnv reads the configuration the authorizer binary runs with.
func ExampleFromEnv() {
	env := map[string]string{
		"ISSUER":      "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_XXXX",
		"AUDIENCE":    "my-client-id",
		"ALGORITHMS":  "RS256,HS256",
		"SCOPE_RULES": `[{"method":"GET","resource":"/pets"}]`,
	}
	_, err := authz.FromEnv(func(k string) string { return env[k] }, nil)
	fmt.Println(err)
	// Output:
	// verifier configuration: ALGORITHMS holds "HS256": allowed are RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 (never none or HMAC)
	// scope rules: rule 0 (GET /pets) grants nothing: give scopes, groups, clients or "anyToken": true
}
