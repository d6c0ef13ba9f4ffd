// Command adminuser serves GET /AdminUser (scope admin-<clientId>).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/secure-api-go/apigw-jwt/lambdas/internal/httpapi"
)

func main() { lambda.Start(httpapi.Greeting("Hello from Admin User")) }
