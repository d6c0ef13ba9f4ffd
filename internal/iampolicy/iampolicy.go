// Package iampolicy evaluates an IAM policy document for one action and
// resource the way IAM (and API Gateway, for a Lambda authorizer's policy)
// does: an explicit Deny wins, otherwise any matching Allow allows, otherwise
// the request is implicitly denied. The tests of the authorizer's policy and
// the local API Gateway emulator both use it, so what the tests prove is what
// the emulator enforces. Standard library only, on purpose.
package iampolicy

import (
	"encoding/json"
	"strings"
)

// Decision is the outcome of an evaluation.
type Decision int

const (
	// ImplicitDeny: no statement allows the request (API Gateway answers 403).
	ImplicitDeny Decision = iota
	// Allow: an Allow statement matches and no Deny does.
	Allow
	// ExplicitDeny: a Deny statement matches; it wins over any Allow.
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// Document is a policy document. Action and Resource accept a string or a
// list, as IAM does.
type Document struct {
	Version   string      `json:"Version,omitempty"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a Document.
type Statement struct {
	Effect   string  `json:"Effect"`
	Action   Strings `json:"Action"`
	Resource Strings `json:"Resource"`
}

// Strings is a JSON string or list of strings.
type Strings []string

// UnmarshalJSON accepts "a" and ["a", "b"].
func (s *Strings) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = Strings{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// Evaluate decides whether doc lets action on resource. Action patterns
// match case-insensitively (IAM action names are), resource patterns
// case-sensitively. A statement whose Effect is neither Allow nor Deny
// matches nothing.
func Evaluate(doc Document, action, resource string) Decision {
	allowed := false
	for _, s := range doc.Statement {
		if !anyMatch(s.Action, strings.ToLower(action), strings.ToLower) || !anyMatch(s.Resource, resource, nil) {
			continue
		}
		switch s.Effect {
		case "Deny":
			return ExplicitDeny
		case "Allow":
			allowed = true
		}
	}
	if allowed {
		return Allow
	}
	return ImplicitDeny
}

func anyMatch(patterns []string, s string, norm func(string) string) bool {
	for _, p := range patterns {
		if norm != nil {
			p = norm(p)
		}
		if Match(p, s) {
			return true
		}
	}
	return false
}

// Match reports whether s matches pattern, where '*' matches any run of
// characters (including none and including '/') and '?' exactly one
// character; every other byte matches itself. It runs in O(len(pattern) *
// len(s)) at worst: no exponential backtracking on hostile input.
func Match(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
