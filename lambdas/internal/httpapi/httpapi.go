// Package httpapi holds the HTTP API (payload 2.0) handlers behind the JWT
// authorizer: the two greetings and the claims mirror.
package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
)

// Greeting answers 200 with a fixed text; API Gateway has already checked
// the token and the route's scope.
func Greeting(message string) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{
			StatusCode: 200,
			Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8"},
			Body:       message,
		}, nil
	}
}

var log = slog.New(slog.NewJSONHandler(os.Stdout, nil))

// Claims returns the claims the JWT authorizer passed, as a JSON object.
func Claims(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if req.RequestContext.Authorizer == nil || req.RequestContext.Authorizer.JWT == nil {
		// Only a route without the JWT authorizer gets here: a deployment bug, not the caller's.
		log.Error("no JWT claims in the request; is the route behind the JWT authorizer?", "requestId", req.RequestContext.RequestID)
		return jsonResponse(500, map[string]string{"message": "Internal server error"}), nil
	}
	claims := req.RequestContext.Authorizer.JWT.Claims
	if claims == nil {
		claims = map[string]string{}
	}
	return jsonResponse(200, claims), nil
}

func jsonResponse(status int, v any) events.APIGatewayV2HTTPResponse {
	b, _ := json.Marshal(v)
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(b),
	}
}
