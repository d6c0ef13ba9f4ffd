// Command claims serves GET /claims: the claims the JWT authorizer passed on.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/secure-api-go/apigw-jwt/lambdas/internal/httpapi"
)

func main() { lambda.Start(httpapi.Claims) }
