// Package scope holds the one rule that ties Cognito groups to API scopes:
// a member of group G, signed in through app client C, gets scope "G-C".
// The infrastructure (route scopes, authorizer rules) and the pre-token
// trigger both call it, so they cannot drift apart. No dependencies on purpose.
package scope

// For returns the scope granted to members of group for the app client clientID.
func For(group, clientID string) string {
	return group + "-" + clientID
}

// FromGroups maps groups to scopes for clientID, in order, skipping groups
// whose names could not form a valid OAuth scope token (RFC 6749 section 3.3:
// printable ASCII except space, '"' and '\') and duplicates.
func FromGroups(groups []string, clientID string) []string {
	out := make([]string, 0, len(groups))
	seen := make(map[string]bool, len(groups))
	for _, g := range groups {
		if !validToken(g) || seen[g] {
			continue
		}
		seen[g] = true
		out = append(out, For(g, clientID))
	}
	return out
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
