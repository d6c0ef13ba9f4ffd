// Package metrics names the CloudWatch metrics the Lambdas emit (EMF, in the
// namespace the stack passes as METRICS_NAMESPACE) and the dashboard and
// alarms read: one list both sides import, so a renamed metric cannot leave
// an alarm watching nothing.
package metrics

// EnvNamespace is the environment variable holding the namespace (the stack name).
const EnvNamespace = "METRICS_NAMESPACE"

// TOKEN authorizer, one line per invocation. Deny and Fault are published in
// total (no dimension) and by Reason (the log line's reason code).
const (
	Allow       = "Allow"
	Deny        = "Deny"
	Fault       = "Fault"
	CacheHits   = "TokenCacheHits"
	JWKSFetches = "JWKSFetches"
	Reason      = "Reason" // dimension
)

// PetStore, one line per request, no dimensions.
const (
	PetsCreated  = "PetsCreated"
	ClientErrors = "ClientErrors"
	ServerErrors = "ServerErrors"
)
