package jwtverify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeIdP is a RoundTripper serving canned answers by URL, recording every
// request; no network.
type fakeIdP struct {
	mu     sync.Mutex
	routes map[string]func() *http.Response
	urls   []string
}

func (f *fakeIdP) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.urls = append(f.urls, req.URL.String())
	route := f.routes[req.URL.String()]
	f.mu.Unlock()
	if route == nil {
		return &http.Response{StatusCode: 404, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
	}
	resp := route()
	resp.Request = req
	return resp, nil
}

func (f *fakeIdP) requested() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.urls...)
}

func redirectTo(loc string) func() *http.Response {
	return func() *http.Response {
		return &http.Response{StatusCode: 302, Header: http.Header{"Location": {loc}}, Body: io.NopCloser(strings.NewReader(""))}
	}
}

func serveBody(body []byte) func() *http.Response {
	return func() *http.Response {
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(body))}
	}
}

func jwksBody(t *testing.T, keys ...testKey) []byte {
	set := []map[string]string{}
	for _, k := range keys {
		set = append(set, jwkOf(k))
	}
	b, err := json.Marshal(map[string]any{"keys": set})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFetchRules: the transport rule and the body cap hold for every JWKS
// and discovery request, with the default client and with a caller's
// HTTPClient alike: a redirect to plain http is not followed (on loopback
// only when the configured URL is loopback), a discovered jwks_uri keeps
// the same rule, and a body over 1 MiB is not read whole.
func TestFetchRules(t *testing.T) {
	k := testKey{kid: "k1", priv: rsaKey(t, 0)}
	keys := jwksBody(t, k)
	big := append(append([]byte(`{"keys":[],"pad":"`), bytes.Repeat([]byte("a"), 1<<20)...), `"}`...)
	const (
		idp      = "https://idp.example.com"
		loopIss  = "http://127.0.0.1:9/pool"
		loopJWKS = "http://127.0.0.1:9/jwks"
	)
	discovery := func(iss, jwksURI string) func() *http.Response {
		b, _ := json.Marshal(map[string]string{"issuer": iss, "jwks_uri": jwksURI})
		return serveBody(b)
	}
	tests := []struct {
		name          string
		issuer, jwks  string
		routes        map[string]func() *http.Response
		theirRedirect bool // the caller's client has its own CheckRedirect, which must still run
		wantOK        bool
		notRequested  string // a URL that must never be requested
	}{
		{"https JWKS", idp, idp + "/jwks", map[string]func() *http.Response{idp + "/jwks": serveBody(keys)}, false, true, ""},
		{"redirect https to https", idp, idp + "/jwks", map[string]func() *http.Response{
			idp + "/jwks": redirectTo("https://keys.example.com/jwks"), "https://keys.example.com/jwks": serveBody(keys)}, false, true, ""},
		{"redirect to plain http elsewhere", idp, idp + "/jwks", map[string]func() *http.Response{
			idp + "/jwks": redirectTo("http://keys.attacker.example/jwks"), "http://keys.attacker.example/jwks": serveBody(keys)}, false, false, "http://keys.attacker.example/jwks"},
		{"redirect to plain http elsewhere, caller's CheckRedirect", idp, idp + "/jwks", map[string]func() *http.Response{
			idp + "/jwks": redirectTo("http://keys.attacker.example/jwks"), "http://keys.attacker.example/jwks": serveBody(keys)}, true, false, "http://keys.attacker.example/jwks"},
		{"https JWKS redirected to loopback http", idp, idp + "/jwks", map[string]func() *http.Response{
			idp + "/jwks": redirectTo(loopJWKS), loopJWKS: serveBody(keys)}, false, false, loopJWKS},
		{"loopback JWKS redirected on loopback", loopIss, loopJWKS, map[string]func() *http.Response{
			loopJWKS: redirectTo("http://localhost:9/jwks"), "http://localhost:9/jwks": serveBody(keys)}, false, true, ""},
		{"https issuer's discovery names a loopback http jwks_uri", idp, "", map[string]func() *http.Response{
			idp + "/.well-known/openid-configuration": discovery(idp, loopJWKS), loopJWKS: serveBody(keys)}, false, false, loopJWKS},
		{"loopback issuer's discovery names a loopback jwks_uri", loopIss, "", map[string]func() *http.Response{
			loopIss + "/.well-known/openid-configuration": discovery(loopIss, loopJWKS), loopJWKS: serveBody(keys)}, false, true, ""},
		{"https discovery redirected to loopback http", idp, "", map[string]func() *http.Response{
			idp + "/.well-known/openid-configuration": redirectTo("http://127.0.0.1:9/conf"),
			"http://127.0.0.1:9/conf":                 discovery(idp, idp+"/jwks"), idp + "/jwks": serveBody(keys)}, false, false, "http://127.0.0.1:9/conf"},
		{"four redirects", idp, idp + "/1", map[string]func() *http.Response{
			idp + "/1": redirectTo(idp + "/2"), idp + "/2": redirectTo(idp + "/3"), idp + "/3": redirectTo(idp + "/4"),
			idp + "/4": redirectTo(idp + "/jwks"), idp + "/jwks": serveBody(keys)}, false, false, idp + "/jwks"},
		{"body over 1 MiB", idp, idp + "/jwks", map[string]func() *http.Response{idp + "/jwks": serveBody(big)}, false, false, ""},
	}
	for _, tt := range tests {
		for _, client := range []string{"default", "caller's"} {
			if tt.theirRedirect && client == "default" {
				continue
			}
			t.Run(tt.name+"/"+client+" client", func(t *testing.T) {
				rt := &fakeIdP{routes: tt.routes}
				var hc *http.Client
				theirs := 0
				switch client {
				case "caller's":
					hc = &http.Client{Transport: rt}
					if tt.theirRedirect {
						hc.CheckRedirect = func(*http.Request, []*http.Request) error { theirs++; return nil }
					}
				default:
					// The default client, its transport swapped for the fake (under
					// the same 1 MiB limit) after New built it: the redirect rules
					// live in CheckRedirect, which stays.
				}
				v, err := New(Config{
					Issuers: []Issuer{{Issuer: tt.issuer, JWKSURI: tt.jwks, Audiences: []string{testClientID}}},
					Now:     func() time.Time { return testNow }, HTTPClient: hc,
				})
				if err != nil {
					t.Fatal(err)
				}
				if hc == nil {
					v.cfg.HTTPClient.Transport = limitedTransport{rt: rt}
				}
				_, err = v.Verify(context.Background(), sign(t, k, with(idClaims(), "iss", tt.issuer), nil))
				if tt.wantOK && err != nil {
					t.Fatalf("Verify: %v (requests %q)", err, rt.requested())
				}
				if !tt.wantOK && !errors.Is(err, ErrKeySource) {
					t.Fatalf("Verify: %v, want ErrKeySource (requests %q)", err, rt.requested())
				}
				for _, u := range rt.requested() {
					if tt.notRequested != "" && u == tt.notRequested {
						t.Fatalf("requested %s: %q", u, rt.requested())
					}
				}
				if tt.theirRedirect && theirs != 0 {
					t.Fatalf("the caller's CheckRedirect ran %d times on a refused redirect", theirs)
				}
			})
		}
	}
}

// TestCallerClientKeepsItsOwnRules: guardClient runs the caller's
// CheckRedirect after its own, keeps the caller's Timeout, fills a zero one
// with HTTPTimeout, and leaves the caller's client unchanged.
func TestCallerClientKeepsItsOwnRules(t *testing.T) {
	stop := errors.New("caller says no")
	theirs := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return stop }, Timeout: 7 * time.Second}
	g := guardClient(theirs, time.Second)
	req, _ := http.NewRequest(http.MethodGet, "https://keys.example.com/jwks", nil)
	if err := g.CheckRedirect(req, []*http.Request{req}); !errors.Is(err, stop) {
		t.Fatalf("CheckRedirect = %v, want the caller's", err)
	}
	if g.Timeout != 7*time.Second || theirs.Transport != nil || theirs.Timeout != 7*time.Second {
		t.Fatalf("timeout %s; the caller's client changed: %+v", g.Timeout, theirs)
	}
	if _, ok := g.Transport.(limitedTransport); !ok {
		t.Fatalf("transport %T, want the 1 MiB limit", g.Transport)
	}
	if g := guardClient(&http.Client{}, time.Second); g.Timeout != time.Second {
		t.Fatalf("zero Timeout became %s, want HTTPTimeout", g.Timeout)
	}
}

// TestNegativeDurationsRefused: a negative duration would switch a
// protection off (no timeout, no limit on unknown-kid refetches), so New
// refuses it, naming the field.
func TestNegativeDurationsRefused(t *testing.T) {
	tests := []struct {
		field string
		mod   func(*Config)
	}{
		{"HTTPTimeout", func(c *Config) { c.HTTPTimeout = -time.Second }},
		{"RefreshMinInterval", func(c *Config) { c.RefreshMinInterval = -time.Second }},
		{"RefreshInterval", func(c *Config) { c.RefreshInterval = -time.Nanosecond }},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			cfg := Config{Issuers: []Issuer{{Issuer: testIssuer, Audiences: []string{testClientID}}}}
			tt.mod(&cfg)
			_, err := New(cfg)
			var ce *ConfigError
			if !errors.Is(err, ErrConfig) || !errors.As(err, &ce) || ce.Field != tt.field || ce.Issuer != -1 || !strings.Contains(err.Error(), "negative") {
				t.Fatalf("New: %v, want a ConfigError for %s", err, tt.field)
			}
		})
	}
	// Negative Leeway and CacheSize keep their documented meaning (none):
	// stricter or slower, never weaker.
	cfg := Config{Issuers: []Issuer{{Issuer: testIssuer, Audiences: []string{testClientID}}}, Leeway: -1, CacheSize: -1}
	if _, err := New(cfg); err != nil {
		t.Fatalf("Leeway and CacheSize -1: %v", err)
	}
}
