package emf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// validUnits are the units the specification allows (CloudWatch's StandardUnit).
var validUnits = map[string]bool{}

func init() {
	for _, u := range []string{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
		"Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
		"Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second",
		"Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None"} {
		validUnits[u] = true
	}
}

// Validate checks one log line against the specification's required members,
// so the tests of every metric producer can hold their output to it: the
// line is one JSON object; _aws holds a numeric Timestamp and a non-empty
// CloudWatchMetrics array; each MetricDirective has a Namespace, Dimensions
// (arrays of at most 30 names) and Metrics (1 to 100 definitions with a Name
// and, if any, a valid Unit), and no other members; every dimension named is
// a string at the root and every metric a number (or array of numbers) at the
// root.
func Validate(line []byte) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return fmt.Errorf("not a JSON object: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	aws, ok := root["_aws"].(map[string]any)
	if !ok {
		return errors.New("_aws: missing or not an object")
	}
	for k := range aws {
		if k != "Timestamp" && k != "CloudWatchMetrics" && k != "LogGroupName" {
			return fmt.Errorf("_aws: member %q is not in the specification", k)
		}
	}
	ts, ok := aws["Timestamp"].(json.Number)
	if !ok {
		return errors.New("_aws.Timestamp: missing or not a number")
	}
	if ms, err := ts.Int64(); err != nil || ms <= 0 {
		return fmt.Errorf("_aws.Timestamp: %s is not milliseconds since the epoch", ts)
	}
	dirs, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(dirs) == 0 {
		return errors.New("_aws.CloudWatchMetrics: missing, empty or not an array")
	}
	for i, v := range dirs {
		d, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("_aws.CloudWatchMetrics[%d]: not an object", i)
		}
		if err := validateDirective(root, d); err != nil {
			return fmt.Errorf("_aws.CloudWatchMetrics[%d].%w", i, err)
		}
	}
	return nil
}

func validateDirective(root, d map[string]any) error {
	for k := range d {
		if k != "Namespace" && k != "Dimensions" && k != "Metrics" {
			return fmt.Errorf("%s: not in the specification", k)
		}
	}
	if ns, ok := d["Namespace"].(string); !ok || ns == "" || len(ns) > 255 {
		return fmt.Errorf("%s: missing, empty or too long", "Namespace")
	}
	sets, ok := d["Dimensions"].([]any)
	if !ok {
		return fmt.Errorf("%s: missing or not an array", "Dimensions")
	}
	for _, s := range sets {
		names, ok := s.([]any)
		if !ok || len(names) > MaxDimensionsPerSet {
			return fmt.Errorf("%s: %v is not an array of at most %d names", "Dimensions", s, MaxDimensionsPerSet)
		}
		for _, n := range names {
			name, ok := n.(string)
			if !ok {
				return fmt.Errorf("%s: %v is not a name", "Dimensions", n)
			}
			if _, ok := root[name].(string); !ok {
				return fmt.Errorf("%s: %q has no string value at the root", "Dimensions", name)
			}
		}
	}
	metrics, ok := d["Metrics"].([]any)
	if !ok || len(metrics) == 0 || len(metrics) > MaxMetricsPerDirective {
		return fmt.Errorf("%s: missing, or not 1 to %d definitions", "Metrics", MaxMetricsPerDirective)
	}
	for _, m := range metrics {
		def, ok := m.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: a definition is not an object", "Metrics")
		}
		for k := range def {
			if k != "Name" && k != "Unit" && k != "StorageResolution" {
				return fmt.Errorf("%s: member %q is not in the specification", "Metrics", k)
			}
		}
		name, ok := def["Name"].(string)
		if !ok || name == "" {
			return fmt.Errorf("%s: a definition has no Name", "Metrics")
		}
		if u, has := def["Unit"]; has {
			if s, ok := u.(string); !ok || !validUnits[s] {
				return fmt.Errorf("%s: %s: unit %v is not a CloudWatch unit", "Metrics", name, u)
			}
		}
		if !isNumbers(root[name]) {
			return fmt.Errorf("%s: %s: no numeric value at the root", "Metrics", name)
		}
	}
	return nil
}

func isNumbers(v any) bool {
	switch x := v.(type) {
	case json.Number:
		return true
	case []any:
		for _, e := range x {
			if _, ok := e.(json.Number); !ok {
				return false
			}
		}
		return len(x) > 0 && len(x) <= 100
	}
	return false
}
