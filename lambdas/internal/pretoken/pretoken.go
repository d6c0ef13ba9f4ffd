// Package pretoken is the Cognito pre token generation trigger: it turns the
// caller's groups into scopes "<group>-<clientId>" (package scope's rule).
//
// Event version 1 can only touch the ID token: the scopes go into its
// "scope" claim. Version 2 (and 3, the same shape) also adds them to the
// access token with scopesToAdd. The response shapes here omit
// groupOverrideDetails on purpose: aws-lambda-go's types would send it as
// nulls, which can strip cognito:groups from the tokens.
package pretoken

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/secure-api-go/apigw-jwt/internal/scope"
)

// Handle answers one trigger event, of any supported version.
func Handle(_ context.Context, raw json.RawMessage) (json.RawMessage, error) {
	var head events.CognitoEventUserPoolsHeader
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("pretoken: event is not a Cognito trigger event: %w", err)
	}
	switch head.Version {
	case "1", "0", "":
		// Cognito's first format; emulators (cognito-local) send "0".
		var ev events.CognitoEventUserPoolsPreTokenGen
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("pretoken: version 1 event: %w", err)
		}
		return json.Marshal(V1(ev))
	case "2", "3":
		var ev events.CognitoEventUserPoolsPreTokenGenV2_0
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("pretoken: version %s event: %w", head.Version, err)
		}
		return json.Marshal(V2(ev))
	}
	// Failing stops the sign-in: better than issuing tokens we did not shape.
	return nil, fmt.Errorf("pretoken: unsupported event version %q (want 1, 2 or 3)", head.Version)
}

// V1Event is a version 1 event with a response that leaves groups alone.
type V1Event struct {
	events.CognitoEventUserPoolsHeader
	Request  events.CognitoEventUserPoolsPreTokenGenRequest `json:"request"`
	Response V1Response                                     `json:"response"`
}

// V1Response carries only claimsOverrideDetails.claimsToAddOrOverride.
type V1Response struct {
	ClaimsOverrideDetails *V1Claims `json:"claimsOverrideDetails,omitempty"`
}

// V1Claims adds or overrides ID token claims.
type V1Claims struct {
	ClaimsToAddOrOverride map[string]string `json:"claimsToAddOrOverride,omitempty"`
}

// V1 puts the scopes into the ID token's scope claim.
func V1(ev events.CognitoEventUserPoolsPreTokenGen) V1Event {
	out := V1Event{CognitoEventUserPoolsHeader: ev.CognitoEventUserPoolsHeader, Request: ev.Request}
	scopes := scope.FromGroups(ev.Request.GroupConfiguration.GroupsToOverride, ev.CallerContext.ClientID)
	if len(scopes) > 0 {
		out.Response.ClaimsOverrideDetails = &V1Claims{ClaimsToAddOrOverride: map[string]string{"scope": strings.Join(scopes, " ")}}
	}
	return out
}

// V2Event is a version 2 event with a response that leaves groups alone.
type V2Event struct {
	events.CognitoEventUserPoolsHeader
	Request  events.CognitoEventUserPoolsPreTokenGenRequestV2_0 `json:"request"`
	Response V2Response                                         `json:"response"`
}

// V2Response carries only the ID and access token parts.
type V2Response struct {
	ClaimsAndScopeOverrideDetails *V2Details `json:"claimsAndScopeOverrideDetails,omitempty"`
}

// V2Details shapes both tokens.
type V2Details struct {
	IDTokenGeneration     *V2IDToken     `json:"idTokenGeneration,omitempty"`
	AccessTokenGeneration *V2AccessToken `json:"accessTokenGeneration,omitempty"`
}

// V2IDToken adds claims to the ID token.
type V2IDToken struct {
	ClaimsToAddOrOverride map[string]any `json:"claimsToAddOrOverride,omitempty"`
}

// V2AccessToken adds scopes to the access token.
type V2AccessToken struct {
	ScopesToAdd []string `json:"scopesToAdd,omitempty"`
}

// V2 adds the scopes to the access token and to the ID token's scope claim.
func V2(ev events.CognitoEventUserPoolsPreTokenGenV2_0) V2Event {
	out := V2Event{CognitoEventUserPoolsHeader: ev.CognitoEventUserPoolsHeader, Request: ev.Request}
	scopes := scope.FromGroups(ev.Request.GroupConfiguration.GroupsToOverride, ev.CallerContext.ClientID)
	if len(scopes) > 0 {
		out.Response.ClaimsAndScopeOverrideDetails = &V2Details{
			IDTokenGeneration:     &V2IDToken{ClaimsToAddOrOverride: map[string]any{"scope": strings.Join(scopes, " ")}},
			AccessTokenGeneration: &V2AccessToken{ScopesToAdd: scopes},
		}
	}
	return out
}
