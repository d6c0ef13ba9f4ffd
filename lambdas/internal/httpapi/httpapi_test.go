package httpapi

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func load(t *testing.T, file string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestGreeting(t *testing.T) {
	for _, msg := range []string{"Hello from Admin User", "Hello from Regular User"} {
		t.Run(msg, func(t *testing.T) {
			resp, err := Greeting(msg)(context.Background(), load(t, "apigw-v2-request-jwt-authorizer.json"))
			if err != nil || resp.StatusCode != 200 || resp.Body != msg {
				t.Fatalf("resp = %+v, err = %v", resp, err)
			}
		})
	}
}

func TestClaims(t *testing.T) {
	tests := []struct {
		file       string
		wantStatus int
		want       map[string]string
	}{
		{"apigw-v2-request-jwt-authorizer.json", 200, map[string]string{"claim1": "value1", "claim2": "value2"}},
		{"apigw-v2-request-no-authorizer.json", 500, map[string]string{"message": "Internal server error"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			resp, err := Claims(context.Background(), load(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || resp.Headers["Content-Type"] != "application/json" {
				t.Fatalf("resp = %+v", resp)
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
				t.Fatalf("body %q: %v", resp.Body, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("body = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("body = %v, want %v", got, tt.want)
				}
			}
		})
	}
}
