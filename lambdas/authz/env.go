package authz

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/secure-api-go/apigw-jwt/internal/seedspec"
	"github.com/secure-api-go/apigw-jwt/lambdas/jwtverify"
	"github.com/secure-api-go/apigw-jwt/lambdas/policy"
)

// DefaultRules apply when SCOPE_RULES is unset or empty (a standalone run
// such as make invoke-authorizer; the stack always sets it): any valid token
// may GET, and nothing else is allowed - reads open to every verified
// caller, every write and every other method closed. "[]" allows nothing; a
// value of blanks is a configuration error, since it reads as "nothing" but
// would mean the defaults.
var DefaultRules = []policy.Rule{{Method: "GET", Resource: "/{proxy+}", AnyToken: true}}

// singleIssuerVars are the variables ISSUERS replaces.
var singleIssuerVars = []string{"ISSUER", "TOKEN_ISSUER", "JWKS_URI", "AUDIENCE", "TOKEN_USE", "JWKS_JSON"}

// FromEnv builds the Handler the authorizer binary runs from its
// environment (the variables are listed in the package documentation). It
// makes no request, and reports every problem at once (errors.Join), each
// naming the variable, the value and the fix; verifier problems wrap
// jwtverify.ErrConfig, rule problems policy.ErrRules.
func FromEnv(getenv func(string) string, log *slog.Logger) (*Handler, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, names, errs := verifierFromEnv(getenv)
	cfg.Log = log
	h := &Handler{Log: log}
	if names != nil { // the issuers could be read: let the verifier check them
		v, err := jwtverify.New(cfg)
		errs = append(errs, renameConfigErrors(err, names))
		h.Verifier = v
	}
	rules, err := rulesFromEnv(getenv)
	errs = append(errs, err)
	h.Rules = rules
	h.ContextClaims, err = contextClaimsFromEnv(getenv)
	errs = append(errs, err)
	switch v := strings.TrimSpace(getenv("SIMPLE_RESPONSES")); v {
	case "", "false":
	case "true":
		h.SimpleResponses = true
	default:
		errs = append(errs, fmt.Errorf("%w: SIMPLE_RESPONSES=%q: want true or false", jwtverify.ErrConfig, v))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// The worst case assumes the longest stage name; a policy over API
	// Gateway's limit is a fault (500) at run time, never an Allow, so this
	// is a warning, not a refusal (simple responses carry no policy).
	if err := policy.CheckSize(h.Rules, 0); err != nil && !h.SimpleResponses {
		log.Warn("configuration", "reason", "policy_may_exceed_limit", "scopeRules", err.Error())
	}
	if getenv("SCOPE_RULES") == "" {
		log.Warn("configuration", "reason", "default_rules", "scopeRules",
			`SCOPE_RULES is unset: any valid token may GET any path, nothing else is allowed; set SCOPE_RULES to your JSON allow-list ([{"method","resource","scopes"?,...}], see package policy), or to [] to allow nothing`)
	}
	return h, nil
}

// verifierFromEnv reads the issuers and the verifier's settings. names maps
// a jwtverify.ConfigError to the variable the user wrote; nil when the
// issuers could not be read at all (their errors are in errs).
func verifierFromEnv(getenv func(string) string) (jwtverify.Config, func(*jwtverify.ConfigError) string, []error) {
	var errs []error
	var cfg jwtverify.Config
	algs := splitList(getenv("ALGORITHMS"))
	groups := strings.TrimSpace(getenv("GROUPS_CLAIM"))
	var names func(*jwtverify.ConfigError) string
	if raw := strings.TrimSpace(getenv("ISSUERS")); raw != "" {
		var set []string
		for _, k := range singleIssuerVars {
			if strings.TrimSpace(getenv(k)) != "" {
				set = append(set, k)
			}
		}
		if len(set) > 0 {
			errs = append(errs, fmt.Errorf("%w: ISSUERS and %s are both set: ISSUERS replaces them, set one or the other", jwtverify.ErrConfig, strings.Join(set, ", ")))
		}
		var list []seedspec.Issuer
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		switch err := dec.Decode(&list); {
		case err != nil:
			errs = append(errs, fmt.Errorf(`%w: ISSUERS is not a JSON list of {"issuer","jwksUri"?,"audiences":[...],"tokenUse"?,"algorithms"?,"groupsClaim"?,"jwks"?}: %v`, jwtverify.ErrConfig, err))
		case len(list) == 0:
			errs = append(errs, fmt.Errorf("%w: ISSUERS is an empty list: list at least one issuer, or unset it and use ISSUER, AUDIENCE", jwtverify.ErrConfig))
		case len(set) == 0:
			defaulted := map[int]bool{}
			for i, is := range list {
				if len(is.Algorithms) == 0 {
					is.Algorithms, defaulted[i] = algs, len(algs) > 0
				}
				if is.GroupsClaim == "" {
					is.GroupsClaim = groups
				}
				cfg.Issuers = append(cfg.Issuers, jwtverify.Issuer{Issuer: is.Issuer, JWKSURI: is.JWKSURI, Audiences: is.Audiences,
					TokenUse: is.TokenUse, Algorithms: is.Algorithms, GroupsClaim: is.GroupsClaim, JWKS: is.JWKS})
			}
			names = func(e *jwtverify.ConfigError) string {
				if e.Field == "Algorithms" && defaulted[e.Issuer] {
					return "ALGORITHMS"
				}
				field := map[string]string{"Issuer": "issuer", "JWKSURI": "jwksUri", "Audiences": "audiences", "TokenUse": "tokenUse",
					"Algorithms": "algorithms", "GroupsClaim": "groupsClaim", "JWKS": "jwks"}[e.Field]
				return fmt.Sprintf("ISSUERS[%d].%s", e.Issuer, field)
			}
		}
	} else {
		is := jwtverify.Issuer{
			Issuer:      strings.TrimSpace(getenv("ISSUER")),
			JWKSURI:     strings.TrimSpace(getenv("JWKS_URI")),
			Audiences:   splitList(getenv("AUDIENCE")),
			TokenUse:    strings.TrimSpace(getenv("TOKEN_USE")),
			Algorithms:  algs,
			GroupsClaim: groups,
		}
		if alias := strings.TrimSpace(getenv("TOKEN_ISSUER")); alias != "" {
			switch is.Issuer {
			case "", alias:
				is.Issuer = alias
			default:
				errs = append(errs, fmt.Errorf("%w: ISSUER=%q and TOKEN_ISSUER=%q differ: TOKEN_ISSUER is an alias of ISSUER, set only one", jwtverify.ErrConfig, is.Issuer, alias))
			}
		}
		if raw := strings.TrimSpace(getenv("JWKS_JSON")); raw != "" {
			is.JWKS = []byte(raw)
		}
		cfg.Issuers = []jwtverify.Issuer{is}
		names = func(e *jwtverify.ConfigError) string {
			return map[string]string{"Issuer": "ISSUER", "JWKSURI": "JWKS_URI", "Audiences": "AUDIENCE", "TokenUse": "TOKEN_USE",
				"Algorithms": "ALGORITHMS", "GroupsClaim": "GROUPS_CLAIM", "JWKS": "JWKS_JSON"}[e.Field]
		}
	}

	var err error
	if cfg.Leeway, err = envSeconds(getenv, "LEEWAY_SECONDS", 0, 600); err != nil {
		errs = append(errs, err)
	}
	if v := getenv("LEEWAY_SECONDS"); strings.TrimSpace(v) == "0" {
		cfg.Leeway = -1 // explicit zero: no leeway
	}
	ms, err := envInt(getenv, "JWKS_TIMEOUT_MS", 1, 30000)
	errs = append(errs, err)
	cfg.HTTPTimeout = time.Duration(ms) * time.Millisecond
	if cfg.RefreshMinInterval, err = envSeconds(getenv, "JWKS_REFRESH_MIN_INTERVAL_SECONDS", 1, 86400); err != nil {
		errs = append(errs, err)
	}
	if cfg.RefreshInterval, err = envSeconds(getenv, "JWKS_REFRESH_INTERVAL_SECONDS", 60, 7*86400); err != nil {
		errs = append(errs, err)
	}
	size, err := envInt(getenv, "TOKEN_CACHE_SIZE", 0, 1<<20)
	errs = append(errs, err)
	switch {
	case getenv("TOKEN_CACHE_SIZE") == "" || err != nil:
	case size == 0:
		cfg.CacheSize = -1
	default:
		cfg.CacheSize = size
	}
	return cfg, names, errs
}

// renameConfigErrors rewrites the verifier's problems with the names of the
// variables the user wrote (ISSUER, ISSUERS[1].jwksUri, ...).
func renameConfigErrors(err error, names func(*jwtverify.ConfigError) string) error {
	if err == nil {
		return nil
	}
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	out := make([]error, 0, len(list))
	for _, e := range list {
		var ce *jwtverify.ConfigError
		if errors.As(e, &ce) {
			e = fmt.Errorf("%w: %s%s", jwtverify.ErrConfig, names(ce), ce.Detail)
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// rulesFromEnv reads SCOPE_RULES (DefaultRules when unset).
func rulesFromEnv(getenv func(string) string) ([]policy.Rule, error) {
	raw := getenv("SCOPE_RULES")
	if raw == "" {
		return DefaultRules, nil
	}
	if strings.TrimSpace(raw) == "" {
		return nil, fmt.Errorf("%w: SCOPE_RULES is blank: give a JSON array of rules ([] allows nothing), or leave it unset for the defaults (any valid token may GET)", policy.ErrRules)
	}
	return policy.ParseRules(raw)
}

// contextClaimsFromEnv reads CONTEXT_CLAIMS, a comma-separated list of claim names.
func contextClaimsFromEnv(getenv func(string) string) ([]string, error) {
	names := splitList(getenv("CONTEXT_CLAIMS"))
	var errs []error
	for i, n := range names {
		if strings.ContainsFunc(n, unicode.IsSpace) {
			errs = append(errs, fmt.Errorf("%w: CONTEXT_CLAIMS names %q, with a blank inside: name each claim exactly, separated by commas", jwtverify.ErrConfig, n))
		} else if slices.Contains(ReservedContext, n) {
			errs = append(errs, fmt.Errorf("%w: CONTEXT_CLAIMS names %q, which the context always carries or reserves (%s): leave it out", jwtverify.ErrConfig, n, strings.Join(ReservedContext, ", ")))
		} else if slices.Contains(names[:i], n) {
			errs = append(errs, fmt.Errorf("%w: CONTEXT_CLAIMS names %q twice: name each claim once", jwtverify.ErrConfig, n))
		}
	}
	return names, errors.Join(errs...)
}

func envInt(getenv func(string) string, key string, lo, hi int) (int, error) {
	v := strings.TrimSpace(getenv(key))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%w: %s=%q: want an integer from %d to %d", jwtverify.ErrConfig, key, v, lo, hi)
	}
	return n, nil
}

func envSeconds(getenv func(string) string, key string, lo, hi int) (time.Duration, error) {
	n, err := envInt(getenv, key, lo, hi)
	return time.Duration(n) * time.Second, err
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
