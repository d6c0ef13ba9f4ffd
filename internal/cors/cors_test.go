package cors

import (
	"reflect"
	"testing"
)

func TestHeaders(t *testing.T) {
	const app, admin = "https://app.example.com", "https://admin.example.com"
	exposed := "Location,Link,Idempotent-Replayed,Retry-After"
	tests := []struct {
		name    string
		origins []string
		origin  string
		want    map[string]string
	}{
		{"closed", nil, app, nil},
		{"allowed origin echoed", []string{app, admin}, admin, map[string]string{AllowOrigin: admin, ExposeHeaders: exposed, Vary: "Origin"}},
		{"other origin gets no allow", []string{app, admin}, "https://evil.example.com", map[string]string{Vary: "Origin"}},
		{"prefix is not a match", []string{app}, app + ".evil.com", map[string]string{Vary: "Origin"}},
		{"case differs: no match", []string{app}, "https://APP.example.com", map[string]string{Vary: "Origin"}},
		{"no Origin header", []string{app}, "", map[string]string{Vary: "Origin"}},
		{"null origin is not allowed", []string{app}, "null", map[string]string{Vary: "Origin"}},
		{"wildcard", []string{Any}, app, map[string]string{AllowOrigin: Any, ExposeHeaders: exposed}},
		{"trailing slash in the list", []string{app + "/"}, app, map[string]string{AllowOrigin: app, ExposeHeaders: exposed, Vary: "Origin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := New(tt.origins).Headers(tt.origin); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Headers(%q) = %v, want %v", tt.origin, got, tt.want)
			}
		})
	}
}

func TestParseJoin(t *testing.T) {
	p := Parse(Join([]string{"https://a.example", "https://b.example"}))
	if p.Headers("https://b.example")[AllowOrigin] != "https://b.example" {
		t.Fatalf("round trip lost an origin: %+v", p)
	}
	if Parse("").Enabled() || Parse(" , ").Enabled() {
		t.Fatal("empty value enables CORS")
	}
}

func TestStatic(t *testing.T) {
	tests := []struct {
		origins []string
		want    string
		ok      bool
	}{
		{nil, "", false},
		{[]string{"https://a.example"}, "https://a.example", true},
		{[]string{"https://a.example", "https://b.example"}, "", false},
		{[]string{"https://a.example", Any}, Any, true},
	}
	for _, tt := range tests {
		v, ok := New(tt.origins).Static()
		if v != tt.want || ok != tt.ok {
			t.Errorf("Static(%v) = %q, %v; want %q, %v", tt.origins, v, ok, tt.want, tt.ok)
		}
	}
}
