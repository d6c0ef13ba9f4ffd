// Package emf writes CloudWatch Embedded Metric Format: one JSON object per
// line on stdout, which CloudWatch Logs turns into metrics without any
// PutMetricData call (no SDK, no network, no IAM permission), as specified in
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
//
// A line holds, at its root, every metric value and every dimension value,
// and an "_aws" member that says which root members are metrics:
//
//	{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"SecureApiJwt",
//	  "Dimensions":[[],["Reason"]],"Metrics":[{"Name":"Deny","Unit":"Count"}]}]},
//	 "Deny":1,"Reason":"expired"}
package emf

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Unit is a CloudWatch unit.
type Unit string

// Units used here (CloudWatch accepts more).
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
	None         Unit = "None"
)

// Limits of the specification.
const (
	MaxMetricsPerDirective = 100
	MaxDimensionsPerSet    = 30
)

// Emitter writes EMF lines. A nil *Emitter is valid and writes nothing, so a
// handler's metrics are optional: the zero value of its field means none.
type Emitter struct {
	// Namespace of every metric. Required.
	Namespace string
	// Out receives one line per Flush. Default: os.Stdout.
	Out io.Writer
	// Now is the clock for _aws.Timestamp. Default: time.Now.
	Now func() time.Time

	mu sync.Mutex // one line at a time, never interleaved
}

// ForNamespace returns an Emitter on stdout, or nil (no metrics) when
// namespace is empty, e.g. a function run outside the stack.
func ForNamespace(namespace string) *Emitter {
	namespace = strings.TrimSpace(namespace)
	if namespace == "" {
		return nil
	}
	return &Emitter{Namespace: namespace}
}

// Event collects the metrics of one line.
type Event struct {
	e          *Emitter
	directives []*directive
	values     map[string]any
	dims       map[string]string
}

type directive struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []definition `json:"Metrics"`
}

type definition struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit,omitempty"`
}

// Event starts a line.
func (e *Emitter) Event() *Event {
	return &Event{e: e, values: map[string]any{}, dims: map[string]string{}}
}

// Dimension sets a dimension value at the root; metrics refer to it by name.
func (ev *Event) Dimension(name, value string) *Event {
	ev.dims[name] = value
	return ev
}

// Put adds value to the metric name. dimensionSets lists the dimension-name
// sets the metric is published under; none means one set with no dimensions.
// Put of the same name again adds to its value.
func (ev *Event) Put(name string, value float64, unit Unit, dimensionSets ...[]string) *Event {
	if len(dimensionSets) == 0 {
		dimensionSets = [][]string{{}}
	}
	if v, ok := ev.values[name].(float64); ok {
		ev.values[name] = v + value
		return ev
	}
	ev.values[name] = value
	for _, d := range ev.directives {
		if slices.EqualFunc(d.Dimensions, dimensionSets, slices.Equal) {
			d.Metrics = append(d.Metrics, definition{name, unit})
			return ev
		}
	}
	ev.directives = append(ev.directives, &directive{Dimensions: dimensionSets, Metrics: []definition{{name, unit}}})
	return ev
}

// Flush writes the line: nothing for a nil Emitter or an Event without metrics.
// An error means the Event breaks the specification (a programming error);
// nothing is written then.
func (ev *Event) Flush() error {
	e := ev.e
	if e == nil || len(ev.directives) == 0 {
		return nil
	}
	if e.Namespace == "" {
		return fmt.Errorf("emf: Namespace is empty: set METRICS_NAMESPACE")
	}
	root := make(map[string]any, len(ev.values)+len(ev.dims)+1)
	for k, v := range ev.dims {
		root[k] = v
	}
	for _, d := range ev.directives {
		d.Namespace = e.Namespace
		if len(d.Metrics) > MaxMetricsPerDirective {
			return fmt.Errorf("emf: %d metrics under one dimension set; the limit is %d", len(d.Metrics), MaxMetricsPerDirective)
		}
		for _, set := range d.Dimensions {
			if len(set) > MaxDimensionsPerSet {
				return fmt.Errorf("emf: dimension set %v has %d names; the limit is %d", set, len(set), MaxDimensionsPerSet)
			}
			for _, name := range set {
				if _, ok := ev.dims[name]; !ok {
					return fmt.Errorf("emf: dimension %q is used by %s but has no value: call Dimension(%q, ...)", name, d.Metrics[0].Name, name)
				}
			}
		}
	}
	for k, v := range ev.values {
		if _, clash := root[k]; clash || k == "_aws" {
			return fmt.Errorf("emf: metric name %q is also a dimension or reserved", k)
		}
		root[k] = v
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	dirs := make([]directive, len(ev.directives))
	for i, d := range ev.directives {
		dirs[i] = *d
	}
	root["_aws"] = struct {
		Timestamp         int64       `json:"Timestamp"`
		CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
	}{now().UnixMilli(), dirs}
	line, err := json.Marshal(root)
	if err != nil {
		return fmt.Errorf("emf: %w", err)
	}
	out := e.Out
	if out == nil {
		out = os.Stdout
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err = out.Write(append(line, '\n'))
	return err
}
