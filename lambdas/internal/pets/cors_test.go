package pets

import (
	"context"
	"testing"

	"github.com/secure-api-go/apigw-jwt/internal/cors"
)

// TestCORSHeaders: with a proxy integration the function answers CORS
// itself, for allowed origins only, on successes and errors alike.
// https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors.html
func TestCORSHeaders(t *testing.T) {
	const app, other = "https://app.example.com", "https://evil.example.com"
	tests := []struct {
		name    string
		origins string
		event   string
		origin  string
		status  int
		allow   string // "" = no Access-Control-Allow-Origin
		vary    bool
	}{
		{"allowed origin, GET", app + ",https://admin.example.com", "get-pets.json", app, 200, app, true},
		{"allowed origin, POST", app, "post-pets.json", app, 201, app, true},
		{"allowed origin, 404", app, "get-pet.json", app, 404, app, true},
		{"origin not in the list", app, "get-pets.json", other, 200, "", true},
		{"no Origin header", app, "get-pets.json", "", 200, "", true},
		{"CORS closed", "", "get-pets.json", app, 200, "", false},
		{"wildcard", "*", "get-pets.json", other, 200, "*", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newHandler(newMemStore())
			h.CORS = cors.Parse(tt.origins)
			ev := loadEvent(t, tt.event)
			if tt.status == 404 {
				ev.PathParameters = map[string]string{"petId": "999"}
			}
			if tt.origin != "" {
				ev.Headers["origin"] = tt.origin // header names arrive in any case
			}
			resp, err := h.Handle(context.Background(), ev)
			if err != nil || resp.StatusCode != tt.status {
				t.Fatalf("status %d, err %v: %s", resp.StatusCode, err, resp.Body)
			}
			if got := resp.Headers[cors.AllowOrigin]; got != tt.allow {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.allow)
			}
			if got := resp.Headers[cors.Vary] == "Origin"; got != tt.vary {
				t.Errorf("Vary: Origin = %v, want %v (headers %v)", got, tt.vary, resp.Headers)
			}
			if exposed := resp.Headers[cors.ExposeHeaders]; (exposed != "") != (tt.allow != "") {
				t.Errorf("Access-Control-Expose-Headers = %q with allow %q", exposed, tt.allow)
			}
			if _, ok := resp.Headers["Access-Control-Allow-Credentials"]; ok {
				t.Error("Access-Control-Allow-Credentials set: the API takes bearer tokens, not cookies")
			}
		})
	}
}
