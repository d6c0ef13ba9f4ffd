// Command petstore serves the REST PetStore's /pets resources from DynamoDB.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/secure-api-go/apigw-jwt/internal/cors"
	"github.com/secure-api-go/apigw-jwt/internal/metrics"
	"github.com/secure-api-go/apigw-jwt/lambdas/internal/emf"
	"github.com/secure-api-go/apigw-jwt/lambdas/internal/pets"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	table := os.Getenv("TABLE_NAME")
	if table == "" {
		log.Error("configuration", "error", "TABLE_NAME is empty: set it to the PetStore table's name")
		os.Exit(1)
	}
	// The SDK resolves the endpoint; AWS_ENDPOINT_URL_DYNAMODB points it at a local DynamoDB.
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	h := &pets.Handler{
		Store:      &pets.DynamoStore{DB: dynamodb.NewFromConfig(cfg), Table: table},
		AdminScope: os.Getenv("ADMIN_SCOPE"),
		Log:        log,
		// RESOURCE_SERVER names the machine scopes; see Handler.ResourceServer.
		ResourceServer: os.Getenv("RESOURCE_SERVER"),
		Metrics:        emf.ForNamespace(os.Getenv(metrics.EnvNamespace)),
		CORS:           cors.Parse(os.Getenv(cors.EnvOrigins)),
	}
	lambda.Start(h.Handle)
}
