// Package template reads a synthesized CloudFormation template from cdk.out
// and resolves its intrinsic functions to local values, so the local run
// follows the infrastructure as written instead of a copy of it.
package template

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Template is a parsed template plus the local values of its resources.
type Template struct {
	Resources map[string]Resource `json:"Resources"`
	Outputs   map[string]any      `json:"Outputs"`

	// Refs are the local values of Ref, by logical id (and pseudo parameter).
	Refs map[string]string `json:"-"`
	// Attrs are the local values of Fn::GetAtt, by "logicalId.Attribute".
	Attrs map[string]string `json:"-"`
}

// Resource is one template resource.
type Resource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
	Metadata   map[string]any `json:"Metadata"`
	DependsOn  any            `json:"DependsOn"`
}

// Metadata returns a string metadata value of a resource, or "".
func (t *Template) Metadata(id, key string) string {
	s, _ := t.Resources[id].Metadata[key].(string)
	return s
}

// Load reads <dir>/<stack>.template.json; with stack "" the only template in dir.
func Load(dir, stack string) (*Template, error) {
	path := filepath.Join(dir, stack+".template.json")
	if stack == "" {
		matches, _ := filepath.Glob(filepath.Join(dir, "*.template.json"))
		if len(matches) != 1 {
			return nil, fmt.Errorf("want exactly one *.template.json in %s, found %d: run `make synth` first", dir, len(matches))
		}
		path = matches[0]
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%v: run `make synth` first", err)
	}
	return Parse(raw)
}

// Parse reads template JSON.
func Parse(raw []byte) (*Template, error) {
	var t Template
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	t.Refs = map[string]string{
		"AWS::Region": "us-east-1", "AWS::AccountId": "000000000000", "AWS::Partition": "aws",
		"AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "local",
	}
	t.Attrs = map[string]string{}
	return &t, nil
}

// OfType returns the logical ids of resources of a type, sorted.
func (t *Template) OfType(typ string) []string {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// Resolve evaluates Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split and
// Fn::Sub (variables only) in v, recursively. Unknown references are errors.
func (t *Template) Resolve(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if strings.HasPrefix(k, "Fn::") || k == "Ref" {
					return t.intrinsic(k, arg)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := t.Resolve(e)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := t.Resolve(e)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// String resolves v and requires a string.
func (t *Template) String(v any) (string, error) {
	r, err := t.Resolve(v)
	if err != nil {
		return "", err
	}
	s, ok := r.(string)
	if !ok {
		return "", fmt.Errorf("template: %v resolves to %T, not a string", v, r)
	}
	return s, nil
}

func (t *Template) intrinsic(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		id, _ := arg.(string)
		if v, ok := t.Refs[id]; ok {
			return v, nil
		}
		if _, ok := t.Resources[id]; ok {
			return id, nil // a resource without a local value is named by its logical id
		}
		return nil, fmt.Errorf("template: no local value for Ref %s", id)
	case "Fn::GetAtt":
		parts, _ := arg.([]any)
		if len(parts) != 2 {
			return nil, fmt.Errorf("template: bad Fn::GetAtt %v", arg)
		}
		key := fmt.Sprintf("%v.%v", parts[0], parts[1])
		if v, ok := t.Attrs[key]; ok {
			return v, nil
		}
		if t.Resources[fmt.Sprint(parts[0])].Type == "AWS::Lambda::Function" && parts[1] == "Arn" {
			return "arn:aws:lambda:" + t.Refs["AWS::Region"] + ":" + t.Refs["AWS::AccountId"] + ":function:" + fmt.Sprint(parts[0]), nil
		}
		return nil, fmt.Errorf("template: no local value for Fn::GetAtt %s", key)
	case "Fn::Join":
		parts, _ := arg.([]any)
		if len(parts) != 2 {
			return nil, fmt.Errorf("template: bad Fn::Join %v", arg)
		}
		sep, _ := parts[0].(string)
		list, err := t.Resolve(parts[1])
		if err != nil {
			return nil, err
		}
		items, _ := list.([]any)
		strs := make([]string, len(items))
		for i, it := range items {
			strs[i] = fmt.Sprint(it)
		}
		return strings.Join(strs, sep), nil
	case "Fn::Select":
		parts, _ := arg.([]any)
		if len(parts) != 2 {
			return nil, fmt.Errorf("template: bad Fn::Select %v", arg)
		}
		idx, _ := parts[0].(float64)
		list, err := t.Resolve(parts[1])
		if err != nil {
			return nil, err
		}
		items, _ := list.([]any)
		if int(idx) < 0 || int(idx) >= len(items) {
			return nil, fmt.Errorf("template: Fn::Select index %v out of range", idx)
		}
		return items[int(idx)], nil
	case "Fn::Split":
		parts, _ := arg.([]any)
		if len(parts) != 2 {
			return nil, fmt.Errorf("template: bad Fn::Split %v", arg)
		}
		sep, _ := parts[0].(string)
		s, err := t.String(parts[1])
		if err != nil {
			return nil, err
		}
		var out []any
		for _, p := range strings.Split(s, sep) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::Sub":
		s, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("template: Fn::Sub with a variable map is not supported")
		}
		var b strings.Builder
		for {
			i := strings.Index(s, "${")
			if i < 0 {
				b.WriteString(s)
				break
			}
			j := strings.Index(s[i:], "}")
			if j < 0 {
				return nil, fmt.Errorf("template: bad Fn::Sub %q", arg)
			}
			b.WriteString(s[:i])
			name := s[i+2 : i+j]
			var v any
			var err error
			if id, attr, ok := strings.Cut(name, "."); ok {
				v, err = t.intrinsic("Fn::GetAtt", []any{id, attr})
			} else {
				v, err = t.intrinsic("Ref", name)
			}
			if err != nil {
				return nil, err
			}
			b.WriteString(fmt.Sprint(v))
			s = s[i+j+1:]
		}
		return b.String(), nil
	}
	return nil, fmt.Errorf("template: %s is not supported locally", fn)
}

// FunctionOf finds the logical id of the Lambda function an ARN expression
// (Fn::GetAtt [id, Arn], or a Join around it) points at.
func (t *Template) FunctionOf(v any) (string, error) {
	var found string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ga, ok := x["Fn::GetAtt"].([]any); ok && len(ga) == 2 && ga[1] == "Arn" {
				if id, _ := ga[0].(string); t.Resources[id].Type == "AWS::Lambda::Function" {
					found = id
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	if found == "" {
		return "", fmt.Errorf("template: no Lambda function in %v", v)
	}
	return found, nil
}
