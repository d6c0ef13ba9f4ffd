package apigw

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
)

// validateSchema checks a JSON value against the JSON Schema draft 4 subset
// API Gateway models here use: type, required, properties,
// additionalProperties, minLength, maxLength, pattern, minimum, maximum, items.
func validateSchema(schema map[string]any, v any, path string) error {
	if t, ok := schema["type"].(string); ok && !hasType(v, t) {
		return fmt.Errorf("%s: want %s", path, t)
	}
	switch x := v.(type) {
	case map[string]any:
		for _, r := range list(schema["required"]) {
			if _, ok := x[r.(string)]; !ok {
				return fmt.Errorf("%s: %q is required", path, r)
			}
		}
		props, _ := schema["properties"].(map[string]any)
		// Sorted, so the message names the same problem every time.
		for _, k := range slices.Sorted(maps.Keys(x)) {
			e := x[k]
			sub, ok := props[k].(map[string]any)
			if !ok {
				if schema["additionalProperties"] == false {
					return fmt.Errorf("%s: %q is not allowed", path, k)
				}
				continue
			}
			if err := validateSchema(sub, e, path+"."+k); err != nil {
				return err
			}
		}
	case string:
		if n, ok := schema["minLength"].(float64); ok && float64(len([]rune(x))) < n {
			return fmt.Errorf("%s: shorter than %v", path, n)
		}
		if n, ok := schema["maxLength"].(float64); ok && float64(len([]rune(x))) > n {
			return fmt.Errorf("%s: longer than %v", path, n)
		}
		if p, ok := schema["pattern"].(string); ok {
			re, err := regexp.Compile(p)
			if err != nil || !re.MatchString(x) {
				return fmt.Errorf("%s: does not match %s", path, p)
			}
		}
	case float64:
		if n, ok := schema["minimum"].(float64); ok && x < n {
			return fmt.Errorf("%s: below %v", path, n)
		}
		if n, ok := schema["maximum"].(float64); ok && x > n {
			return fmt.Errorf("%s: above %v", path, n)
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, e := range x {
				if err := validateSchema(items, e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func hasType(v any, t string) bool {
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	}
	return true
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// parseJSON decodes a body for validation.
func parseJSON(body []byte) (any, error) {
	var v any
	err := json.Unmarshal(body, &v)
	return v, err
}
