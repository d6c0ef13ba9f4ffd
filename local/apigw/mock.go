package apigw

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// mockIntegration is a MOCK integration of the template, answered as API
// Gateway answers it: the request template's statusCode selects the
// integration response (by SelectionPattern, else the default one), whose
// ResponseParameters and ResponseTemplates make the answer.
type mockIntegration struct {
	status       int      // the statusCode of the request template; 200 if none
	passthrough  string   // PassthroughBehavior; "" is WHEN_NO_MATCH
	requestTypes []string // content types with a request template
	responses    []mockResponse
}

type mockResponse struct {
	pattern   *regexp.Regexp // nil: the default response
	status    int
	headers   map[string]string // header -> 'static' or method.request.* expression
	templates map[string]*vtl   // by content type
}

var statusCodeRE = regexp.MustCompile(`"?statusCode"?\s*:\s*(\d{3})`)

// newMock reads a MOCK integration; what the emulator cannot answer
// faithfully (other mapping expressions, VTL beyond the CORS preflight's) is
// an error at start.
func newMock(integ map[string]any) (*mockIntegration, error) {
	m := &mockIntegration{status: 200}
	m.passthrough, _ = integ["PassthroughBehavior"].(string)
	if tpls, ok := integ["RequestTemplates"].(map[string]any); ok {
		for ct, v := range tpls {
			m.requestTypes = append(m.requestTypes, ct)
			// API Gateway reads the statusCode of the (JSON) request template.
			if ct == "application/json" {
				if sm := statusCodeRE.FindStringSubmatch(fmt.Sprint(v)); sm != nil {
					m.status, _ = strconv.Atoi(sm[1])
				}
			}
		}
		sort.Strings(m.requestTypes)
	}
	for _, raw := range list(integ["IntegrationResponses"]) {
		ir, _ := raw.(map[string]any)
		resp := mockResponse{headers: map[string]string{}, templates: map[string]*vtl{}}
		var err error
		if resp.status, err = strconv.Atoi(fmt.Sprint(ir["StatusCode"])); err != nil {
			return nil, fmt.Errorf("integration response StatusCode %v is not a number", ir["StatusCode"])
		}
		if p, _ := ir["SelectionPattern"].(string); p != "" {
			if resp.pattern, err = regexp.Compile("^(?:" + p + ")$"); err != nil {
				return nil, fmt.Errorf("SelectionPattern %q: %v", p, err)
			}
		}
		if params, ok := ir["ResponseParameters"].(map[string]any); ok {
			for k, v := range params {
				h, ok := strings.CutPrefix(k, "method.response.header.")
				expr, _ := v.(string)
				if !ok || (!isStatic(expr) && !strings.HasPrefix(expr, "method.request.")) {
					return nil, fmt.Errorf("integration response parameter %s = %v is not emulated", k, v)
				}
				resp.headers[h] = expr
			}
		}
		if tpls, ok := ir["ResponseTemplates"].(map[string]any); ok {
			for ct, v := range tpls {
				prog, err := parseVTL(fmt.Sprint(v))
				if err != nil {
					return nil, fmt.Errorf("response template %s: %w", ct, err)
				}
				resp.templates[ct] = prog
			}
		}
		m.responses = append(m.responses, resp)
	}
	return m, nil
}

// unsupportedMedia: with passthrough NEVER (or WHEN_NO_TEMPLATES and a
// template defined), a request whose content type has no request template
// is refused with 415 Unsupported Media Type; no Content-Type is taken as
// application/json
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html).
func (m *mockIntegration) unsupportedMedia(r *http.Request) bool {
	if m.passthrough != "NEVER" && (m.passthrough != "WHEN_NO_TEMPLATES" || len(m.requestTypes) == 0) {
		return false
	}
	ct := "application/json"
	if h := r.Header.Get("Content-Type"); h != "" {
		mt, _, err := mime.ParseMediaType(h)
		if err != nil {
			return true
		}
		ct = mt
	}
	return !slices.Contains(m.requestTypes, ct)
}

// serve answers the mock: the integration response selected by the status.
func (m *mockIntegration) serve(w http.ResponseWriter, r *http.Request, params map[string]string) {
	status := strconv.Itoa(m.status)
	var chosen *mockResponse
	for i := range m.responses {
		resp := &m.responses[i]
		if resp.pattern != nil && resp.pattern.MatchString(status) {
			chosen = resp
			break
		}
		if resp.pattern == nil && chosen == nil {
			chosen = resp
		}
	}
	if chosen == nil {
		// No integration response: API Gateway answers 500 (a configuration error).
		writeJSON(w, http.StatusInternalServerError, map[string]any{"message": "Internal server error"})
		return
	}
	for k, expr := range chosen.headers {
		if v := headerValue(expr, r, params); v != "" {
			w.Header().Set(k, v)
		}
	}
	ct, prog := "", (*vtl)(nil)
	if p, ok := chosen.templates["application/json"]; ok {
		ct, prog = "application/json", p
	} else {
		for t, p := range chosen.templates {
			ct, prog = t, p
		}
	}
	body := ""
	if prog != nil {
		var overrides map[string]string
		body, overrides = prog.run(r)
		for k, v := range overrides {
			w.Header().Set(k, v)
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", ct)
		}
	}
	w.WriteHeader(chosen.status)
	io.WriteString(w, body)
}

// vtl is the part of API Gateway's mapping template language (Velocity)
// the stack's mock integrations use: literal text, and the CDK's CORS
// preflight template - #set of a variable from $input.params().header.get,
// #if on == comparisons joined by ||, #end, and #set of
// $context.responseOverride.header.<Name>
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-override-request-response-parameters.html).
// Anything else is refused at start rather than answered wrongly.
type vtl struct{ stmts []vtlStmt }

type vtlStmt struct {
	kind   string // text, setHeader, setOverride, if, end
	text   string // text; the variable for setHeader; the header for setOverride
	name   string // setHeader: the request header; setOverride: the variable
	conds  [][2]string
	source string
}

var (
	vtlSetHeader   = regexp.MustCompile(`^#set\(\s*\$(\w+)\s*=\s*\$input\.params\(\)\.header\.get\("([^"]+)"\)\s*\)`)
	vtlSetOverride = regexp.MustCompile(`^#set\(\s*\$context\.responseOverride\.header\.([A-Za-z0-9-]+)\s*=\s*\$(\w+)\s*\)`)
	vtlIf          = regexp.MustCompile(`^#if\(\s*((?:\$\w+\s*==\s*"[^"]*"\s*(?:\|\|\s*)?)+)\)`)
	vtlCond        = regexp.MustCompile(`\$(\w+)\s*==\s*"([^"]*)"`)
	vtlEnd         = regexp.MustCompile(`^#end`)
)

func parseVTL(src string) (*vtl, error) {
	p := &vtl{}
	depth := 0
	for len(src) > 0 {
		i := strings.IndexAny(src, "#$")
		if i != 0 {
			if i < 0 {
				i = len(src)
			}
			p.stmts = append(p.stmts, vtlStmt{kind: "text", text: src[:i]})
			src = src[i:]
			continue
		}
		var st vtlStmt
		var n int
		if m := vtlSetHeader.FindStringSubmatch(src); m != nil {
			st, n = vtlStmt{kind: "setHeader", text: m[1], name: m[2]}, len(m[0])
		} else if m := vtlSetOverride.FindStringSubmatch(src); m != nil {
			st, n = vtlStmt{kind: "setOverride", text: m[1], name: m[2]}, len(m[0])
		} else if m := vtlIf.FindStringSubmatch(src); m != nil {
			st, n = vtlStmt{kind: "if"}, len(m[0])
			for _, c := range vtlCond.FindAllStringSubmatch(m[1], -1) {
				st.conds = append(st.conds, [2]string{c[1], c[2]})
			}
			depth++
		} else if m := vtlEnd.FindString(src); m != "" {
			st, n = vtlStmt{kind: "end"}, len(m)
			if depth--; depth < 0 {
				return nil, fmt.Errorf("#end without #if")
			}
		} else {
			line, _, _ := strings.Cut(src, "\n")
			return nil, fmt.Errorf("the emulator does not evaluate %q (only the CORS preflight's #set/#if and literal text)", line)
		}
		st.source = src[:n]
		p.stmts = append(p.stmts, st)
		src = src[n:]
	}
	if depth != 0 {
		return nil, fmt.Errorf("#if without #end")
	}
	return p, nil
}

// run evaluates the template for r: the body, and the headers it overrides.
func (p *vtl) run(r *http.Request) (string, map[string]string) {
	vars := map[string]string{}
	overrides := map[string]string{}
	var active []bool
	on := func() bool { return !slices.Contains(active, false) }
	var b strings.Builder
	for _, st := range p.stmts {
		switch st.kind {
		case "if":
			ok := false
			for _, c := range st.conds {
				ok = ok || vars[c[0]] == c[1]
			}
			active = append(active, ok)
		case "end":
			active = active[:len(active)-1]
		case "text":
			if on() {
				b.WriteString(st.text)
			}
		case "setHeader":
			if on() {
				vars[st.text] = r.Header.Get(st.name)
			}
		case "setOverride":
			if on() {
				overrides[st.text] = vars[st.name]
			}
		}
	}
	return b.String(), overrides
}
