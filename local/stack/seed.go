package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/secure-api-go/apigw-jwt/internal/seedspec"
	"github.com/secure-api-go/apigw-jwt/local/lambdahost"
)

// runJWKSSeeds runs each JWKS seed custom resource as CloudFormation does on
// create: it starts the resource's real jwksseed binary under the Lambda
// host, invokes it with a Create event whose ResponseURL is a loopback
// listener, reads the response the binary PUTs there (aws-lambda-go's cfn
// package), and records the returned Data as the resource's Fn::GetAtt
// values, so the authorizer's JWKS_JSON or ISSUERS resolves to real keys.
// It returns the functions it started (they keep running until Stop).
func (s *Stack) runJWKSSeeds(ctx context.Context, binaries map[string]string) (map[string]bool, error) {
	started := map[string]bool{}
	t := s.Template
	for _, id := range t.OfType(seedspec.ResourceType) {
		raw := t.Resources[id].Properties
		fnID, err := t.FunctionOf(raw["ServiceToken"])
		if err != nil {
			return started, fmt.Errorf("seed %s: %w", id, err)
		}
		resolved, err := t.Resolve(raw)
		if err != nil {
			return started, fmt.Errorf("seed %s: %w", id, err)
		}
		timeout := 30 * time.Second
		if v, ok := t.Resources[fnID].Properties["Timeout"].(float64); ok {
			timeout = time.Duration(v) * time.Second
		}
		if !started[fnID] {
			env, err := s.functionEnv(fnID)
			if err != nil {
				return started, err
			}
			if err := s.Host.Start([]lambdahost.Function{{Name: fnID, Binary: binaries[fnID], Env: env, Runtime: s.runtimeEnv(fnID), Timeout: timeout, Instances: 1}}); err != nil {
				return started, err
			}
			started[fnID] = true
		}
		responses := make(chan cfn.Response, 1)
		responseURL, err := s.serve(0, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var resp cfn.Response
			if r.Method != http.MethodPut || json.NewDecoder(r.Body).Decode(&resp) != nil {
				http.Error(w, "want a PUT of a custom resource response", http.StatusBadRequest)
				return
			}
			select {
			case responses <- resp:
			default:
			}
		}))
		if err != nil {
			return started, err
		}
		ev := cfn.Event{
			RequestType: cfn.RequestCreate, RequestID: newRequestID(), ResponseURL: responseURL + "/" + id,
			ResourceType: seedspec.ResourceType, LogicalResourceID: id,
			StackID:            "arn:aws:cloudformation:us-east-1:000000000000:stack/local/" + newRequestID(),
			ResourceProperties: resolved.(map[string]any),
		}
		payload, _ := json.Marshal(ev)
		if out, err := s.Host.Invoke(ctx, fnID, payload); err != nil {
			return started, fmt.Errorf("seed %s: %w (%s)", id, err, out)
		}
		var resp cfn.Response
		select {
		case resp = <-responses:
		case <-time.After(5 * time.Second):
			return started, fmt.Errorf("seed %s: the function returned but sent no response to its ResponseURL", id)
		}
		if resp.Status != cfn.StatusSuccess {
			return started, fmt.Errorf("seed %s: %s: %s (see .local/logs/lambda-%s.log)", id, resp.Status, resp.Reason, fnID)
		}
		t.Refs[id] = resp.PhysicalResourceID
		for k, v := range resp.Data {
			t.Attrs[id+"."+k] = fmt.Sprint(v)
		}
		if s.opts.Progress != nil {
			fmt.Fprintf(s.opts.Progress, "      %s: %s key(s) for the authorizer's %s\n", id, t.Attrs[id+"."+seedspec.AttrKeyCount], ev.ResourceProperties[seedspec.PropEnv])
		}
	}
	return started, nil
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// countAuthorizerJWKS puts a counting reverse proxy between the authorizer
// and cognito-local's JWKS: the authorizer's JWKS_URI (or the pool's jwksUri
// in ISSUERS) points at the proxy, everyone else still sees cognito-local.
// Tests read the count to show that a seeded authorizer verifies without a fetch.
func (s *Stack) countAuthorizerJWKS(functions []lambdahost.Function) error {
	real := s.Cognito.Issuer + "/.well-known/jwks.json"
	target, err := url.Parse(s.Cognito.Endpoint)
	if err != nil {
		return err
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) }}
	proxyURL, err := s.serve(0, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.authorizerJWKSRequests.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	if err != nil {
		return err
	}
	u, err := url.Parse(real)
	if err != nil {
		return err
	}
	proxied := proxyURL + u.Path
	for _, f := range functions {
		if f.Name != s.Functions["authorizer"] {
			continue
		}
		for _, k := range []string{"JWKS_URI", seedspec.EnvIssuers} {
			if v, ok := f.Env[k]; ok {
				f.Env[k] = strings.ReplaceAll(v, real, proxied)
			}
		}
	}
	return nil
}

// AuthorizerJWKSRequests counts the authorizer's requests for the pool's JWKS so far.
func (s *Stack) AuthorizerJWKSRequests() int64 { return s.authorizerJWKSRequests.Load() }
