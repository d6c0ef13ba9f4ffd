package emf

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func fixedEmitter(buf *bytes.Buffer) *Emitter {
	return &Emitter{Namespace: "SecureApiJwt", Out: buf, Now: func() time.Time { return time.UnixMilli(1700000000123) }}
}

func TestLineFollowsTheSpecification(t *testing.T) {
	var buf bytes.Buffer
	e := fixedEmitter(&buf)
	err := e.Event().Dimension("Reason", "expired").
		Put("Deny", 1, Count, []string{}, []string{"Reason"}).
		Put("TokenCacheHits", 2, Count).
		Put("JWKSFetches", 0, Count).
		Put("TokenCacheHits", 1, Count).
		Flush()
	if err != nil {
		t.Fatal(err)
	}
	line := buf.Bytes()
	if bytes.Count(line, []byte("\n")) != 1 || !bytes.HasSuffix(line, []byte("\n")) {
		t.Fatalf("want exactly one line: %q", line)
	}
	if err := Validate(line); err != nil {
		t.Fatalf("line breaks the specification: %v\n%s", err, line)
	}
	var got map[string]any
	json.Unmarshal(line, &got)
	want := map[string]any{
		"_aws": map[string]any{
			"Timestamp": float64(1700000000123),
			"CloudWatchMetrics": []any{
				map[string]any{"Namespace": "SecureApiJwt", "Dimensions": []any{[]any{}, []any{"Reason"}}, "Metrics": []any{map[string]any{"Name": "Deny", "Unit": "Count"}}},
				map[string]any{"Namespace": "SecureApiJwt", "Dimensions": []any{[]any{}}, "Metrics": []any{
					map[string]any{"Name": "TokenCacheHits", "Unit": "Count"}, map[string]any{"Name": "JWKSFetches", "Unit": "Count"}}},
			},
		},
		"Deny": float64(1), "TokenCacheHits": float64(3), "JWKSFetches": float64(0), "Reason": "expired",
	}
	if a, b := asJSON(got), asJSON(want); a != b {
		t.Fatalf("line\n%s\nwant\n%s", a, b)
	}
}

func asJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestValidateCatchesBrokenLines proves the check above can fail: each line
// lacks something the specification requires.
func TestValidateCatchesBrokenLines(t *testing.T) {
	good := `{"_aws":{"Timestamp":1700000000123,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["Reason"]],"Metrics":[{"Name":"Deny","Unit":"Count"}]}]},"Deny":1,"Reason":"expired"}`
	if err := Validate([]byte(good)); err != nil {
		t.Fatalf("the good line fails: %v", err)
	}
	for name, line := range map[string]string{
		"not json":                  `Deny=1`,
		"trailing data":             good + ` {}`,
		"no _aws":                   `{"Deny":1}`,
		"no Timestamp":              strings.Replace(good, `"Timestamp":1700000000123,`, ``, 1),
		"Timestamp as string":       strings.Replace(good, `1700000000123`, `"1700000000123"`, 1),
		"Timestamp in seconds.frac": strings.Replace(good, `1700000000123`, `1700000000.123`, 1),
		"no CloudWatchMetrics":      `{"_aws":{"Timestamp":1},"Deny":1}`,
		"empty CloudWatchMetrics":   `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"Deny":1}`,
		"no Namespace":              strings.Replace(good, `"Namespace":"N",`, ``, 1),
		"no Dimensions":             strings.Replace(good, `"Dimensions":[["Reason"]],`, ``, 1),
		"no Metrics":                strings.Replace(good, `,"Metrics":[{"Name":"Deny","Unit":"Count"}]`, ``, 1),
		"no Name":                   strings.Replace(good, `"Name":"Deny",`, ``, 1),
		"bad Unit":                  strings.Replace(good, `"Count"`, `"Things"`, 1),
		"metric value not at root":  strings.Replace(good, `"Deny":1,`, ``, 1),
		"metric value nested":       strings.Replace(good, `"Deny":1,`, `"values":{"Deny":1},`, 1),
		"metric value a string":     strings.Replace(good, `"Deny":1,`, `"Deny":"1",`, 1),
		"dimension not at root":     strings.Replace(good, `,"Reason":"expired"`, ``, 1),
		"dimension not a string":    strings.Replace(good, `"Reason":"expired"`, `"Reason":7`, 1),
		"extra directive member":    strings.Replace(good, `"Namespace":"N",`, `"Namespace":"N","Extra":1,`, 1),
	} {
		if err := Validate([]byte(line)); err == nil {
			t.Errorf("%s: Validate accepted %s", name, line)
		}
	}
}

func TestNilEmitterAndEmptyEventWriteNothing(t *testing.T) {
	var e *Emitter
	if err := e.Event().Put("Allow", 1, Count).Flush(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := fixedEmitter(&buf).Event().Dimension("Reason", "x").Flush(); err != nil || buf.Len() != 0 {
		t.Fatalf("an event without metrics wrote %q (%v)", buf.String(), err)
	}
}

func TestFlushRefusesBrokenEvents(t *testing.T) {
	var buf bytes.Buffer
	e := fixedEmitter(&buf)
	cases := map[string]*Event{
		"dimension without value":       e.Event().Put("Deny", 1, Count, []string{"Reason"}),
		"metric named like a dimension": e.Event().Dimension("Deny", "x").Put("Deny", 1, Count),
		"reserved name":                 e.Event().Put("_aws", 1, Count),
		"empty namespace":               (&Emitter{Out: &buf}).Event().Put("Allow", 1, Count),
	}
	for name, ev := range cases {
		if err := ev.Flush(); err == nil {
			t.Errorf("%s: flushed", name)
		}
	}
	if buf.Len() != 0 {
		t.Fatalf("a refused event wrote %q", buf.String())
	}
}

func TestForNamespace(t *testing.T) {
	if ForNamespace(" ") != nil {
		t.Fatal("an empty namespace should mean no metrics")
	}
	if e := ForNamespace("MyStack"); e == nil || e.Namespace != "MyStack" {
		t.Fatalf("emitter %+v", e)
	}
}

func TestConcurrentFlushesStayWholeLines(t *testing.T) {
	var buf bytes.Buffer
	e := fixedEmitter(&buf)
	done := make(chan struct{})
	for range 8 {
		go func() {
			for range 50 {
				e.Event().Put("Allow", 1, Count).Flush()
			}
			done <- struct{}{}
		}()
	}
	for range 8 {
		<-done
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	for _, l := range lines {
		if err := Validate([]byte(l)); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
	}
}
