package apigw

import (
	"encoding/json"
	"strings"
)

// policyDecision is the outcome of evaluating an authorizer policy for one method ARN.
type policyDecision int

const (
	decisionNoMatch policyDecision = iota // no Allow covers it: 403
	decisionAllow
	decisionDeny // an explicit Deny covers it: 403
)

type policyDocument struct {
	Statement []struct {
		Effect   string          `json:"Effect"`
		Action   json.RawMessage `json:"Action"`
		Resource json.RawMessage `json:"Resource"`
	} `json:"Statement"`
}

// evaluate applies IAM's rule: an explicit Deny wins, then any Allow.
// Resource patterns use '*' (any run) and '?' (one character).
func evaluate(doc policyDocument, methodARN string) policyDecision {
	allowed := false
	for _, s := range doc.Statement {
		if !anyAction(stringsOf(s.Action)) || !anyMatch(stringsOf(s.Resource), methodARN) {
			continue
		}
		switch s.Effect {
		case "Deny":
			return decisionDeny
		case "Allow":
			allowed = true
		}
	}
	if allowed {
		return decisionAllow
	}
	return decisionNoMatch
}

func stringsOf(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	json.Unmarshal(raw, &many)
	return many
}

func anyMatch(patterns []string, s string) bool {
	for _, p := range patterns {
		if glob(p, s) {
			return true
		}
	}
	return false
}

// glob matches with '*' and '?', iteratively (no exponential backtracking).
func glob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
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

// actionMatches reports whether an IAM action pattern covers execute-api:Invoke.
func actionMatches(pattern string) bool {
	return glob(strings.ToLower(pattern), "execute-api:invoke")
}

func anyAction(patterns []string) bool {
	for _, p := range patterns {
		if actionMatches(p) {
			return true
		}
	}
	return false
}
