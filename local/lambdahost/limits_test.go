package lambdahost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/secure-api-go/apigw-jwt/internal/lambdaenv"
)

// fakeRuntimeEnv makes the test binary a Lambda runtime (TestMain) that
// answers every event with a response of that many bytes.
const fakeRuntimeEnv = "LAMBDAHOST_TEST_RESPONSE_BYTES"

func TestMain(m *testing.M) {
	if n := os.Getenv(fakeRuntimeEnv); n != "" {
		fakeRuntime(n)
		return
	}
	os.Exit(m.Run())
}

// fakeRuntime speaks the Runtime API: next, then a JSON string response of n bytes.
func fakeRuntime(n string) {
	size, _ := strconv.Atoi(n)
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	for {
		resp, err := http.Get(api + "next")
		if err != nil {
			os.Exit(1)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		body := `"` + strings.Repeat("a", size-2) + `"`
		r, err := http.Post(api+id+"/response", "application/json", strings.NewReader(body))
		if err != nil {
			os.Exit(1)
		}
		r.Body.Close()
	}
}

func startFake(t *testing.T, responseBytes int) *Host {
	t.Helper()
	h := &Host{}
	if err := h.Start([]Function{{Name: "fake", Binary: os.Args[0], Runtime: map[string]string{fakeRuntimeEnv: strconv.Itoa(responseBytes)}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	return h
}

// TestPayloadLimits: Lambda's 6 MB synchronous payload quota, both ways
// (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):
// a larger event is refused before the function runs (RequestTooLargeException,
// https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_Errors),
// a larger response fails the invocation with Function.ResponseSizeTooLarge.
func TestPayloadLimits(t *testing.T) {
	event := func(n int) []byte { return []byte(`"` + strings.Repeat("e", n-2) + `"`) }
	t.Run("request", func(t *testing.T) {
		h := startFake(t, 10)
		for _, tt := range []struct {
			size    int
			refused bool
		}{{MaxRequestPayload, false}, {MaxRequestPayload + 1, true}} {
			before := h.Invocations("fake")
			out, err := h.Invoke(context.Background(), "fake", event(tt.size))
			if refused := errors.Is(err, ErrRequestTooLarge); refused != tt.refused {
				t.Fatalf("%d bytes: err %v, want refused=%v", tt.size, err, tt.refused)
			}
			if tt.refused && (out != nil || !strings.Contains(err.Error(), "Request must be smaller than 6291456 bytes")) {
				t.Fatalf("%d bytes: %v %s", tt.size, err, out)
			}
			if !tt.refused && (err != nil || len(out) != 10) {
				t.Fatalf("%d bytes: %v %s", tt.size, err, out)
			}
			if ran := h.Invocations("fake") > before; ran == tt.refused {
				t.Fatalf("%d bytes: invoked = %v", tt.size, ran)
			}
		}
	})
	for _, tt := range []struct {
		size   int
		failed bool
	}{{MaxResponsePayload, false}, {MaxResponsePayload + 1, true}} {
		t.Run(fmt.Sprintf("response %d", tt.size), func(t *testing.T) {
			h := startFake(t, tt.size)
			out, err := h.Invoke(context.Background(), "fake", []byte(`{}`))
			if tt.failed {
				if !errors.Is(err, ErrFunction) || !strings.Contains(string(out), `"errorType":"Function.ResponseSizeTooLarge"`) {
					t.Fatalf("err %v, payload %.200s", err, out)
				}
				return
			}
			if err != nil || len(out) != tt.size {
				t.Fatalf("err %v, %d bytes", err, len(out))
			}
		})
	}
}

// TestInvokeAPIRequestTooLarge: the Invoke API answers an oversized event
// with HTTP 413 RequestTooLargeException, as Lambda's.
func TestInvokeAPIRequestTooLarge(t *testing.T) {
	h := startFake(t, 10)
	srv := httptest.NewServer(h.InvokeAPI())
	defer srv.Close()
	body := []byte(`"` + strings.Repeat("e", MaxRequestPayload) + `"`)
	resp, err := http.DefaultClient.Do(signed(t, srv.URL+"/2015-03-31/functions/fake/invocations", body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("X-Amzn-ErrorType") != "RequestTooLargeException" || !strings.Contains(string(b), "Request must be smaller than 6291456 bytes") {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, b)
	}
}

// TestEnvironmentLimit: the host refuses to start a function whose
// configured environment Lambda would refuse (lambdaenv, the one rule), and
// does not count what the Lambda service sets itself.
func TestEnvironmentLimit(t *testing.T) {
	fits := map[string]string{"BIG": ""}
	// {"BIG":"..."} is 10 bytes plus the value.
	fits["BIG"] = strings.Repeat("x", lambdaenv.Limit-10)
	if lambdaenv.Size(fits) != lambdaenv.Limit {
		t.Fatalf("setup: size %d", lambdaenv.Size(fits))
	}
	over := map[string]string{"BIG": fits["BIG"] + "x"}
	quoted := map[string]string{"BIG": strings.Repeat("x", lambdaenv.Limit-11) + `"`} // a quote costs two bytes: one over
	runtimeOnly := map[string]string{"AWS_REGION": strings.Repeat("r", 5000)}
	for _, tt := range []struct {
		name    string
		env     map[string]string
		runtime map[string]string
		refused bool
	}{
		{"at the limit", fits, nil, false},
		{"one byte over", over, nil, true},
		{"an escaped quote counts twice", quoted, nil, true},
		{"service variables are not measured", nil, runtimeOnly, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rt := map[string]string{fakeRuntimeEnv: "10"}
			for k, v := range tt.runtime {
				rt[k] = v
			}
			h := &Host{}
			defer h.Stop()
			err := h.Start([]Function{{Name: "fake", Binary: os.Args[0], Env: tt.env, Runtime: rt}})
			if refused := errors.Is(err, ErrEnvironmentTooLarge); refused != tt.refused {
				t.Fatalf("err %v, want refused=%v", err, tt.refused)
			}
			if tt.refused {
				if !strings.Contains(err.Error(), "fake") || !strings.Contains(err.Error(), fmt.Sprintf("measured %d bytes", lambdaenv.Size(tt.env))) {
					t.Fatalf("message %v", err)
				}
				if len(h.PIDs()) != 0 {
					t.Fatal("a process started for a refused function")
				}
			}
		})
	}
}
