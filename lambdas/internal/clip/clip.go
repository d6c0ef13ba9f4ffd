// Package clip bounds attacker-chosen values (kid, iss, aud, error details)
// before they reach a log, so one denial never writes more than a few KB.
package clip

import "unicode/utf8"

// Max is the most bytes String keeps of a value.
const Max = 256

// String cuts s to at most Max bytes, on a UTF-8 boundary, marking the cut.
func String(s string) string {
	if len(s) <= Max {
		return s
	}
	const mark = "...(cut)"
	n := Max - len(mark)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + mark
}
