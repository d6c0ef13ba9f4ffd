package pets

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"slices"
	"strconv"
	"strings"
)

// ErrMediaType is a body sent as anything but JSON: 415.
var ErrMediaType = errors.New("unsupported media type")

// CheckContentType accepts application/json in any case, with at most a
// charset parameter naming UTF-8 (RFC 8259 8.1: JSON is UTF-8). API Gateway
// validates the model only for the content types the method lists, so the
// Lambda cannot rely on it to refuse text/plain or a missing header.
func CheckContentType(header string) error {
	const fix = `; send Content-Type: application/json`
	if strings.TrimSpace(header) == "" {
		return fmtMedia("Content-Type is missing" + fix)
	}
	mt, params, err := mime.ParseMediaType(header)
	if err != nil {
		return fmtMedia("Content-Type " + strconv.Quote(header) + " is not a media type" + fix)
	}
	if mt != "application/json" {
		return fmtMedia("Content-Type " + strconv.Quote(mt) + " is not accepted" + fix)
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return fmtMedia("Content-Type parameter " + k + "=" + strconv.Quote(v) + " is not accepted; only charset=utf-8 may follow application/json")
		}
	}
	return nil
}

func fmtMedia(msg string) error { return &mediaError{msg} }

type mediaError struct{ msg string }

func (e *mediaError) Error() string { return e.msg }
func (e *mediaError) Unwrap() error { return ErrMediaType }

// checkStrictJSON walks body token by token before it is decoded, because
// encoding/json matches keys case-insensitively and lets a repeated key
// overwrite the first: it requires one JSON object whose top-level keys are
// among allowed, spelled exactly, with no key repeated at any depth, and
// nothing after the object.
func checkStrictJSON(body []byte, allowed ...string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return invalid("body must be a JSON object with only \"type\" and \"price\": invalid JSON")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return invalid("body must be a JSON object with only \"type\" and \"price\"")
	}
	if err := walkObject(dec, allowed, "body"); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("body must hold exactly one JSON object, with nothing after it")
	}
	return nil
}

// walkObject reads the members of an object whose '{' was just read.
// allowed (when not nil) lists the exact keys permitted.
func walkObject(dec *json.Decoder, allowed []string, path string) error {
	seen := map[string]bool{}
	for {
		tok, err := dec.Token()
		if err != nil {
			return invalid("body must be a JSON object with only \"type\" and \"price\": invalid JSON")
		}
		if d, ok := tok.(json.Delim); ok && d == '}' {
			return nil
		}
		key := tok.(string) // the decoder only yields string keys inside an object
		if seen[key] {
			return invalid("%s: key %q appears twice; send each key once", path, key)
		}
		seen[key] = true
		if allowed != nil && !slices.Contains(allowed, key) {
			hint := ""
			for _, a := range allowed {
				if strings.EqualFold(a, key) {
					hint = "; keys are case-sensitive: use " + strconv.Quote(a)
				}
			}
			return invalid("body must be a JSON object with only \"type\" and \"price\": unknown field %q%s", key, hint)
		}
		if err := walkValue(dec, path+"."+key); err != nil {
			return err
		}
	}
}

func walkValue(dec *json.Decoder, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return invalid("body must be a JSON object with only \"type\" and \"price\": invalid JSON")
	}
	switch tok {
	case json.Delim('{'):
		return walkObject(dec, nil, path)
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := walkValue(dec, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // the closing ']'
			return invalid("body must be a JSON object with only \"type\" and \"price\": invalid JSON")
		}
	}
	return nil
}
