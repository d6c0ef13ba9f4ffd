// Package lambdaenv measures a Lambda function's environment the way Lambda
// does, so the stack, the JWKS seed and the local Lambda host apply one rule.
//
// Lambda allows 4 KB for all environment variables of a function
// (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html,
// "Function configuration, deployment, and execution"), and it measures the
// JSON of the whole map: its error reads
// `Lambda was unable to configure your environment variables because the
// environment variables you have provided exceeded the 4KB limit. String
// measured: {"KEY":"value",...}`. So braces, quotes, colons, commas and every
// escape inside a value count, not only names and values.
package lambdaenv

import (
	"bytes"
	"encoding/json"
)

// Limit is Lambda's limit on the measured environment, in bytes.
const Limit = 4096

// Size is the length in bytes of the JSON object Lambda measures for env:
// {"NAME":"value",...}, with JSON escapes (a '"' in a value costs two bytes)
// and without HTML escaping (Lambda does not turn '<' into \u003c). An empty
// map measures 2 bytes ({}).
func Size(env map[string]string) int {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// Encoding a map[string]string cannot fail.
	_ = enc.Encode(env)
	return buf.Len() - 1 // Encode appends a newline
}

// Fits reports whether env is within Limit.
func Fits(env map[string]string) bool { return Size(env) <= Limit }

// Added is how many bytes setting name to value adds to the measure of an
// environment that holds at least one other variable: `,"name":"value"`,
// escapes included. Size(env) + Added(k, v) = Size(env with k=v) for a
// non-empty env without k.
func Added(name, value string) int {
	return Size(map[string]string{name: value}) - len("{}") + len(",")
}
