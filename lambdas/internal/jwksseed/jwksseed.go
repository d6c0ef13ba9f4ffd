// Package jwksseed is the logic of the JWKS seed custom resource: at deploy
// time it fetches each trusted issuer's JWKS, keeps only the public part of
// the RSA and EC signing keys that can verify an algorithm the issuer allows,
// and returns it for the authorizer's environment
// (JWKS_JSON, or the jwks of each ISSUERS element), so a cold authorizer
// verifies its first token without a network round trip.
package jwksseed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/secure-api-go/apigw-jwt/internal/lambdaenv"
	"github.com/secure-api-go/apigw-jwt/internal/seedspec"
	"github.com/secure-api-go/apigw-jwt/lambdas/jwtverify"
)

// Sentinel errors. ErrConfig and ErrRejected fail the deploy; ErrUnavailable
// (after the retries) leaves the seed empty.
var (
	// ErrConfig: the resource's properties are wrong (a stack bug or bad context).
	ErrConfig = errors.New("jwksseed: bad properties")
	// ErrRejected: the issuer answered, but not with a JWKS (wrong URL, 4xx, not JSON, too large).
	ErrRejected = errors.New("jwksseed: not a JWKS")
	// ErrUnavailable: the issuer did not answer usefully (network, timeout, 5xx, 429).
	ErrUnavailable = errors.New("jwksseed: JWKS unavailable")
)

// Handler answers CloudFormation requests for the seed resource.
type Handler struct {
	// Client fetches the JWKS. Default: a client with a 5 s timeout that
	// follows redirects only to URLs that pass the same https rule.
	Client *http.Client
	// Log receives the decisions. Default: JSON on stdout.
	Log *slog.Logger
	// Attempts per issuer for an unavailable JWKS. Default: 3.
	Attempts int
	// Backoff before the second attempt, doubling. Default: 500 ms.
	Backoff time.Duration
	// MaxBody caps the JWKS response. Default: 256 KiB (real ones are a few KiB).
	MaxBody int64
	// Margin is kept free before the Lambda deadline, so the response to
	// CloudFormation is always sent (a silent timeout would hang the stack for
	// an hour). Default: 3 s.
	Margin time.Duration
}

// checkRedirect holds redirects to the JWKS URL's rules: at most 3, https,
// and plain http on a loopback host only when the configured URL was itself
// loopback http (the local run), so an IdP cannot send the seed to another
// service on the Lambda host (the Runtime API listens on 127.0.0.1).
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return fmt.Errorf("%w: more than 3 redirects", ErrRejected)
	}
	if err := jwtverify.CheckURL("redirect", req.URL.String()); err != nil {
		return err
	}
	if req.URL.Scheme == "http" && len(via) > 0 && via[0].URL.Scheme != "http" {
		return fmt.Errorf("%w: redirect from %s to plain http %s", ErrRejected, via[0].URL.Redacted(), req.URL.Redacted())
	}
	return nil
}

// NewLogger is the JSON logger the Lambda uses.
func NewLogger() *slog.Logger { return slog.New(slog.NewJSONHandler(os.Stdout, nil)) }

func (h *Handler) defaults() Handler {
	d := *h
	if d.Client == nil {
		d.Client = &http.Client{Timeout: 5 * time.Second, CheckRedirect: checkRedirect}
	}
	if d.Log == nil {
		d.Log = NewLogger()
	}
	if d.Attempts <= 0 {
		d.Attempts = 3
	}
	if d.Backoff <= 0 {
		d.Backoff = 500 * time.Millisecond
	}
	if d.MaxBody <= 0 {
		d.MaxBody = 256 << 10
	}
	if d.Margin <= 0 {
		d.Margin = 3 * time.Second
	}
	return d
}

// Handle is a cfn.CustomResourceFunction: wrap it with cfn.LambdaWrap.
//
// On a fetch failure it decides by cause. A wrong URL (not https, a 4xx, a
// name that does not resolve, a body that is not a JWKS) fails the deploy
// with the URL and the reason, because it would fail every token later and
// is cheaper to see now. An issuer that is only unavailable (timeout,
// connection refused, 5xx, 429, after retries) must not block a deploy: the
// seed is left empty, a warning says so, and the authorizer fetches the keys
// on its first token as it would without a seed.
func (h *Handler) Handle(ctx context.Context, ev cfn.Event) (string, map[string]any, error) {
	d := h.defaults()
	log := d.Log.With("requestType", string(ev.RequestType), "logicalResourceId", ev.LogicalResourceID)
	physicalID := ev.PhysicalResourceID
	if ev.RequestType == cfn.RequestCreate || physicalID == "" {
		physicalID = "jwks-seed-" + ev.LogicalResourceID
	}
	if ev.RequestType == cfn.RequestDelete {
		log.Info("delete: nothing to clean up")
		return physicalID, nil, nil
	}
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-d.Margin))
		defer cancel()
	}
	p, err := parseProps(ev.ResourceProperties)
	if err != nil {
		return physicalID, nil, err
	}

	seeds := make([]json.RawMessage, len(p.issuers))
	counts := make([]int, len(p.issuers))
	for i, iss := range p.issuers {
		algs := iss.AlgorithmsOr(p.algorithms)
		body, err := d.fetch(ctx, iss.JWKSURI)
		var keys []seedspec.Key
		var private []string
		if err == nil {
			if keys, private, err = seedspec.Reduce(body, algs); err != nil {
				err = fmt.Errorf("%w: GET %s: %v", ErrRejected, iss.JWKSURI, err)
			}
		}
		switch {
		case errors.Is(err, ErrUnavailable):
			log.Warn("no seed for this issuer: its JWKS is unavailable now; the authorizer will fetch it on its first token",
				"issuer", iss.Issuer, "jwksUri", iss.JWKSURI, "reason", "jwks_unavailable", "error", err.Error())
			continue
		case err != nil:
			return physicalID, nil, fmt.Errorf("issuer %s: %w (check the issuer's jwksUri in the stack's context)", iss.Issuer, err)
		}
		if len(private) > 0 {
			// A JWKS is public: private material in it is a misconfigured
			// IdP whose keys anyone can now sign with. Never copied on.
			log.Error("the issuer's JWKS publishes private key material; those keys are left out of the seed: fix the IdP's key set and rotate the keys",
				"issuer", iss.Issuer, "jwksUri", iss.JWKSURI, "reason", "private_key_in_jwks", "kids", private)
		}
		if len(keys) == 0 {
			log.Warn("no seed for this issuer: its JWKS has no signing key with a kid for the algorithms it allows", "issuer", iss.Issuer, "jwksUri", iss.JWKSURI,
				"algorithms", algs, "reason", "no_usable_keys")
			continue
		}
		seeds[i], _ = json.Marshal(jwks{Keys: keys})
		counts[i] = len(keys)
	}

	// A value fits when what the variable adds to the authorizer's
	// environment, measured as Lambda does (the JSON of the whole map, so
	// every quote in the value costs its escape), stays within the budget,
	// and CloudFormation's 4096-byte limit on the whole response (where the
	// value is a JSON string again) holds too.
	attr := seedspec.AttrJWKS
	if p.env == seedspec.EnvIssuers {
		attr = seedspec.AttrIssuers
	}
	fits := func(value string, keys int) (envBytes, respBytes int, ok bool) {
		envBytes = lambdaenv.Added(p.env, value)
		respBytes = responseSize(ev, physicalID, map[string]any{attr: value, seedspec.AttrKeyCount: strconv.Itoa(keys)})
		return envBytes, respBytes, envBytes <= p.maxBytes && respBytes <= responseLimit
	}
	overBudget := func(issuer string, envBytes, respBytes int) {
		log.Warn("no seed for this issuer: its keys would push the authorizer's environment past Lambda's 4 KB limit (or the response past CloudFormation's 4096 bytes); it will fetch them on its first token",
			"issuer", issuer, "reason", "over_env_budget", "bytes", envBytes, "budget", p.maxBytes, "responseBytes", respBytes)
	}
	value, total := "", 0
	switch p.env {
	case seedspec.EnvJWKS:
		if seeds[0] != nil {
			if envBytes, respBytes, ok := fits(string(seeds[0]), counts[0]); ok {
				value, total = string(seeds[0]), counts[0]
			} else {
				overBudget(p.issuers[0].Issuer, envBytes, respBytes)
			}
		}
	case seedspec.EnvIssuers:
		out := append([]seedspec.Issuer(nil), p.issuers...)
		base, _ := json.Marshal(out)
		if envBytes, respBytes, ok := fits(string(base), 0); !ok {
			return physicalID, nil, fmt.Errorf("%w: ISSUERS alone is %d bytes (%d in the response), over the %d the authorizer's 4 KB environment leaves for it (or CloudFormation's %d-byte response): trust fewer issuers or shorten their audiences", ErrConfig, envBytes, respBytes, p.maxBytes, responseLimit)
		}
		// First come, first seeded: the stack lists its own issuer first.
		for i := range out {
			if seeds[i] == nil {
				continue
			}
			out[i].JWKS = seeds[i]
			b, _ := json.Marshal(out)
			if envBytes, respBytes, ok := fits(string(b), total+counts[i]); !ok {
				out[i].JWKS = nil
				overBudget(out[i].Issuer, envBytes, respBytes)
				continue
			}
			total += counts[i]
		}
		b, _ := json.Marshal(out)
		value = string(b)
	}
	data := map[string]any{attr: value, seedspec.AttrKeyCount: strconv.Itoa(total)}
	log.Info("seeded", "env", p.env, "keys", total, "issuers", len(p.issuers))
	return physicalID, data, nil
}

// responseLimit is CloudFormation's limit on a custom resource response body.
const responseLimit = 4096

// responseSize is the size of the body cfn.LambdaWrap will PUT for data.
func responseSize(ev cfn.Event, physicalID string, data map[string]any) int {
	b, _ := json.Marshal(cfn.Response{Status: cfn.StatusSuccess, RequestID: ev.RequestID, LogicalResourceID: ev.LogicalResourceID,
		StackID: ev.StackID, PhysicalResourceID: physicalID, Data: data})
	return len(b)
}

type props struct {
	issuers    []seedspec.Issuer
	env        string
	maxBytes   int
	algorithms []string
}

// parseProps reads the properties as CloudFormation sends them: every scalar
// a string (the local run sends numbers as numbers, which is accepted too).
func parseProps(in map[string]any) (props, error) {
	var p props
	raw, err := json.Marshal(in[seedspec.PropIssuers])
	if err == nil {
		err = json.Unmarshal(raw, &p.issuers)
	}
	if err != nil || len(p.issuers) == 0 {
		return p, fmt.Errorf("%w: %s must be a non-empty list of {issuer, jwksUri, audiences, tokenUse?}, got %s", ErrConfig, seedspec.PropIssuers, raw)
	}
	seen := map[string]bool{}
	for i, iss := range p.issuers {
		if iss.Issuer == "" || len(iss.Audiences) == 0 || iss.JWKS != nil {
			return p, fmt.Errorf("%w: %s[%d] needs issuer, jwksUri and audiences and no jwks, got %s", ErrConfig, seedspec.PropIssuers, i, raw)
		}
		if seen[iss.Issuer] {
			return p, fmt.Errorf("%w: issuer %s is listed twice: an extra issuer must not repeat the stack's own", ErrConfig, iss.Issuer)
		}
		seen[iss.Issuer] = true
		if err := jwtverify.CheckURL("jwksUri", iss.JWKSURI); err != nil {
			return p, fmt.Errorf("%w: issuer %s: %v", ErrConfig, iss.Issuer, err)
		}
	}
	p.env, _ = in[seedspec.PropEnv].(string)
	if p.env != seedspec.EnvJWKS && p.env != seedspec.EnvIssuers {
		return p, fmt.Errorf("%w: %s is %q, want %s or %s", ErrConfig, seedspec.PropEnv, p.env, seedspec.EnvJWKS, seedspec.EnvIssuers)
	}
	if p.env == seedspec.EnvJWKS && len(p.issuers) != 1 {
		return p, fmt.Errorf("%w: %s seeds exactly one issuer, got %d: use %s", ErrConfig, seedspec.EnvJWKS, len(p.issuers), seedspec.EnvIssuers)
	}
	switch v := in[seedspec.PropMaxBytes].(type) {
	case string:
		p.maxBytes, err = strconv.Atoi(v)
	case float64:
		p.maxBytes = int(v)
	default:
		err = errors.New("missing")
	}
	if err != nil || p.maxBytes <= 0 || p.maxBytes > lambdaenv.Limit {
		return p, fmt.Errorf("%w: %s is %v, want a whole number of bytes from 1 to %d", ErrConfig, seedspec.PropMaxBytes, in[seedspec.PropMaxBytes], lambdaenv.Limit)
	}
	if v, ok := in[seedspec.PropAlgorithms]; ok && v != nil {
		raw, _ := json.Marshal(v)
		if json.Unmarshal(raw, &p.algorithms) != nil || slices.Contains(p.algorithms, "") {
			return p, fmt.Errorf("%w: %s is %s, want a list of algorithm names such as [\"RS256\",\"ES256\"], or no %s for the default %v",
				ErrConfig, seedspec.PropAlgorithms, raw, seedspec.PropAlgorithms, seedspec.DefaultAlgorithms)
		}
	}
	return p, nil
}

type jwks struct {
	Keys []seedspec.Key `json:"keys"`
}

// fetch downloads a JWKS, retrying only while it is unavailable.
func (d Handler) fetch(ctx context.Context, uri string) ([]byte, error) {
	var err error
	wait := d.Backoff
	for attempt := 1; attempt <= d.Attempts; attempt++ {
		var body []byte
		if body, err = d.fetchOnce(ctx, uri); err == nil || !errors.Is(err, ErrUnavailable) {
			return body, err
		}
		if attempt == d.Attempts {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %v (deadline reached after %d attempts)", ErrUnavailable, err, attempt)
		case <-time.After(wait):
		}
		wait *= 2
	}
	return nil, err
}

func (d Handler) fetchOnce(ctx context.Context, uri string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrRejected, uri, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := d.Client.Do(req)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return nil, fmt.Errorf("%w: GET %s: host %s does not exist", ErrRejected, uri, dnsErr.Name)
		}
		if errors.Is(err, jwtverify.ErrConfig) || errors.Is(err, ErrRejected) {
			return nil, fmt.Errorf("%w: GET %s: %v", ErrRejected, uri, err)
		}
		return nil, fmt.Errorf("%w: GET %s: %v", ErrUnavailable, uri, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, fmt.Errorf("%w: GET %s: %s", ErrUnavailable, uri, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: GET %s: %s, want 200 with the issuer's JWKS", ErrRejected, uri, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, d.MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: reading the body: %v", ErrUnavailable, uri, err)
	}
	if int64(len(body)) > d.MaxBody {
		return nil, fmt.Errorf("%w: GET %s: the body is over %d bytes, far more than a JWKS", ErrRejected, uri, d.MaxBody)
	}
	return body, nil
}
