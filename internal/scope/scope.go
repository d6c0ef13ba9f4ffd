// Package scope holds the names that tie identities to API permissions, in
// one place: the group rule (a member of group G, signed in through app
// client C, gets scope "G-C") and the resource server's scopes that machine
// clients are granted ("<resourceServerId>/pets.read"). The infrastructure
// (route scopes, authorizer rules, app clients), the pre-token trigger and the
// PetStore all call it, so they cannot drift apart. Standard library only, on purpose.
package scope

import "strings"

// Groups of the user pool.
const (
	AdminGroup   = "admin"
	RegularGroup = "regular"
)

// DefaultResourceServer is the resource server identifier used when the
// stack's context does not set resourceServerId.
const DefaultResourceServer = "petstore"

// Resource server scope names, without the "<resourceServerId>/" prefix.
const (
	PetsRead  = "pets.read"
	PetsWrite = "pets.write"
)

// For returns the scope granted to members of group for the app client clientID.
func For(group, clientID string) string {
	return group + "-" + clientID
}

// Resource returns the full scope a token carries for a resource server's
// scope name: Resource("petstore", PetsRead) is "petstore/pets.read".
func Resource(server, name string) string {
	return server + "/" + name
}

// FromGroups maps groups to scopes for clientID, in order, skipping groups
// whose names could not form a valid OAuth scope token (RFC 6749 section 3.3:
// printable ASCII except space, '"' and '\') and duplicates.
func FromGroups(groups []string, clientID string) []string {
	out := make([]string, 0, len(groups))
	seen := make(map[string]bool, len(groups))
	for _, g := range groups {
		if !ValidToken(g) || seen[g] {
			continue
		}
		seen[g] = true
		out = append(out, For(g, clientID))
	}
	return out
}

// ValidToken reports whether s can be one OAuth scope token (RFC 6749
// section 3.3): non-empty printable ASCII without space, '"' or '\'.
func ValidToken(s string) bool {
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

// Split is the one way a space-separated scope string (RFC 6749 section 3.3,
// the "scope" claim, the authorizer context handed to backends) becomes a
// list: the authorizer's policy, its context and the PetStore all use it.
// Only U+0020 separates (the RFC's SP); any other whitespace stays inside a
// part, where ValidToken refuses it, so no reader splits differently.
func Split(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, " ") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
