package authz

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"testing"
)

// FuzzAuthorizationHeader feeds arbitrary Authorization values through the
// whole handler with a real verifier. Nothing an attacker can type without the
// IdP's private key may be allowed, and every refusal must be exactly
// "Unauthorized" (never a panic, never a fault). The seeds include the
// spellings a lenient decoder would accept: CR/LF, padding, spare bits.
func FuzzAuthorizationHeader(f *testing.F) {
	fx := newFixture(f)
	fx.h.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	for _, s := range []string{
		"Bearer eyJhbGciOiJub25lIiwia2lkIjoiazEifQ.eyJzdWIiOiJ4In0.",
		"Bearer eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.c2ln",
		"Bearer a.b.c", "Bearer ..", "Bearer a.b.c.d", "bearer x", "Basic dXNlcg==", "Bearer  a.b.c",
		"Bearer eyJ.eyJ.", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.AAAA", "",
		"BEARER a.b.c", "bearer\ta.b.c", "Bearer eyJhbGciOiJSUzI1NiJ9.e30\r\n.AAAA", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.AAB=",
		"Bearer eyJhbGciOiJSUzI1NiIsImI2NCI6ZmFsc2V9.e30.AAAA", "Bearer eyJ0eXAiOiJsb2dvdXQrand0In0.e30.AAAA",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, auth string) {
		resp, err := fx.h.HandleToken(context.Background(), event(auth, base+"GET/pets"))
		if err == nil {
			t.Fatalf("fuzzed header allowed: %q -> %+v", auth, resp)
		}
		if err != ErrUnauthorized {
			t.Fatalf("fuzzed header gave %v, want Unauthorized", err)
		}
	})
}

// FuzzEvent feeds arbitrary events through Handle with a real verifier:
// whatever the bytes, nothing is allowed without a token the IdP signed,
// and the only answers are Unauthorized and a fault (never a panic).
func FuzzEvent(f *testing.F) {
	fx := newFixture(f)
	fx.h.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	for _, file := range []string{"token-event.json", "request-event.json", "http-v1-event.json", "http-event.json"} {
		raw, err := os.ReadFile("testdata/" + file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(raw))
	}
	for _, s := range []string{`{}`, `{"type":"TOKEN"}`, `{"type":"REQUEST","version":"2.0","headers":{"authorization":"Bearer a.b.c"},"routeArn":"arn:aws:execute-api:r:a:api/s/GET/p"}`, `null`, `[`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, event string) {
		for _, simple := range []bool{false, true} {
			fx.h.SimpleResponses = simple
			resp, err := fx.h.Handle(context.Background(), json.RawMessage(event))
			if err == nil {
				t.Fatalf("fuzzed event answered %#v: %q", resp, event)
			}
			if err != ErrUnauthorized && err != ErrFault {
				t.Fatalf("fuzzed event gave %v", err)
			}
		}
	})
}
