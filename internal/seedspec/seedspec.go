// Package seedspec is the contract between the stack, the jwksseed custom
// resource and the local run: the resource's property and attribute names and
// the shape of one trusted issuer (an element of the authorizer's ISSUERS).
// It has no dependencies, so the infra, the Lambda and the local run share it.
package seedspec

import (
	"encoding/json"
	"slices"

	"github.com/secure-api-go/apigw-jwt/internal/lambdaenv"
)

// ResourceType is the CloudFormation type of the seed custom resource.
const ResourceType = "Custom::JwksSeed"

// Properties of the custom resource.
const (
	// PropIssuers is the list of issuers to seed, in the authorizer's order.
	PropIssuers = "Issuers"
	// PropEnv names the authorizer variable the result fills: EnvJWKS or EnvIssuers.
	PropEnv = "Env"
	// PropMaxBytes is how many bytes that variable may add to the authorizer's
	// environment as Lambda measures it (lambdaenv.Added: `,"NAME":"value"`
	// with JSON escapes): Budget of the other variables.
	PropMaxBytes = "MaxBytes"
	// PropAlgorithms is the list of algorithms every issuer allows unless its
	// own "algorithms" says otherwise (the authorizer's ALGORITHMS). Optional:
	// absent means DefaultAlgorithms. Only keys that can verify one of them
	// are seeded.
	PropAlgorithms = "Algorithms"
)

// DefaultAlgorithms is what an issuer that lists no algorithms allows: the
// authorizer's documented default.
var DefaultAlgorithms = []string{"RS256"}

// Algorithms is what an algorithm list means: sorted, each once,
// DefaultAlgorithms when empty. Two lists allow the same tokens when their
// Algorithms are equal (slices.Equal).
func Algorithms(list []string) []string {
	if len(list) == 0 {
		return slices.Clone(DefaultAlgorithms)
	}
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}

// Authorizer variables the seed fills.
const (
	EnvJWKS    = "JWKS_JSON"
	EnvIssuers = "ISSUERS"
)

// Attributes the resource returns (Fn::GetAtt). Only the one matching PropEnv is set.
const (
	// AttrJWKS is the reduced JWKS of the single issuer as a JSON string, or ""
	// when there is no seed (over the budget, or the IdP did not answer).
	AttrJWKS = "Jwks"
	// AttrIssuers is the whole ISSUERS value: the issuers as given, each with
	// a "jwks" object when its keys fit the budget.
	AttrIssuers = "Issuers"
	// AttrKeyCount is the number of keys seeded in all, as a string (for logs and tests).
	AttrKeyCount = "KeyCount"
)

// Margin is what the budget keeps free below Lambda's limit: room for
// a variable added later and for the guesses in the measure (an unresolved
// CloudFormation value counted at its worst case).
const Margin = 128

// Budget is PropMaxBytes for an authorizer whose other variables are other:
// Lambda's 4 KB limit, measured on the JSON of the whole map
// (lambdaenv.Size), less those variables and Margin. The seeded variable
// fits when lambdaenv.Added(name, value) <= Budget(other); a seed that does
// not is left out.
func Budget(other map[string]string) int {
	return lambdaenv.Limit - Margin - lambdaenv.Size(other)
}

// Issuer is one trusted issuer: an element of the authorizer's ISSUERS and
// of the extraIssuers context key (which has no jwks). The seed copies every
// field through, so algorithms and groupsClaim reach the authorizer.
type Issuer struct {
	Issuer    string   `json:"issuer"`
	JWKSURI   string   `json:"jwksUri"`
	Audiences []string `json:"audiences"`
	TokenUse  string   `json:"tokenUse,omitempty"`
	// Algorithms the issuer's tokens may use (default RS256).
	Algorithms []string `json:"algorithms,omitempty"`
	// GroupsClaim names the claim holding the user's groups (default cognito:groups).
	GroupsClaim string          `json:"groupsClaim,omitempty"`
	JWKS        json.RawMessage `json:"jwks,omitempty"`
}
