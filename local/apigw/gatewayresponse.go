package apigw

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/secure-api-go/apigw-jwt/local/template"
)

// MaxPayloadBytes is API Gateway's REST API payload limit (10 MB, not
// adjustable); a larger request gets 413 before any authorizer or Lambda runs.
const MaxPayloadBytes = 10 << 20

// gatewayResponse is an AWS::ApiGateway::GatewayResponse of the template.
type gatewayResponse struct {
	status   int
	headers  map[string]string
	template string // application/json
}

// gatewayResponses reads the template's gateway responses by ResponseType.
func gatewayResponses(t *template.Template) (map[string]gatewayResponse, error) {
	out := map[string]gatewayResponse{}
	for _, id := range t.OfType("AWS::ApiGateway::GatewayResponse") {
		p := t.Resources[id].Properties
		typ := fmt.Sprint(p["ResponseType"])
		gr := gatewayResponse{headers: map[string]string{}}
		if s, ok := p["StatusCode"].(string); ok {
			if _, err := fmt.Sscanf(s, "%d", &gr.status); err != nil {
				return nil, fmt.Errorf("apigw: gateway response %s: StatusCode %q is not a number", id, s)
			}
		}
		if params, ok := p["ResponseParameters"].(map[string]any); ok {
			for k, v := range params {
				if h, ok := strings.CutPrefix(k, "gatewayresponse.header."); ok {
					gr.headers[h] = strings.Trim(fmt.Sprint(v), "'")
				}
			}
		}
		if tpls, ok := p["ResponseTemplates"].(map[string]any); ok {
			gr.template, _ = tpls["application/json"].(string)
		}
		out[typ] = gr
	}
	return out, nil
}

// gatewayError answers as API Gateway does for responseType: the template's
// gateway response when it has one (status, headers, body with the $context
// variables substituted), else the default {"message": ...}.
func (a *RESTAPI) gatewayError(w http.ResponseWriter, responseType string, status int, message, validationError string) {
	gr, ok := a.responses[responseType]
	if !ok {
		writeJSON(w, status, map[string]any{"message": message})
		return
	}
	if gr.status != 0 {
		status = gr.status
	}
	body := `{"message":$context.error.messageString}`
	if gr.template != "" {
		body = gr.template
	}
	quoted, _ := json.Marshal(message)
	escaped, _ := json.Marshal(validationError)
	body = strings.NewReplacer(
		"$context.error.messageString", string(quoted),
		"$context.error.message", message,
		"$context.error.validationErrorString", string(escaped[1:len(escaped)-1]),
		"$context.error.responseType", responseType,
	).Replace(body)
	for k, v := range gr.headers {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// readPayload reads the body up to API Gateway's limit; tooLarge when it is over.
func readPayload(r *http.Request) (body []byte, tooLarge bool) {
	if r.ContentLength > MaxPayloadBytes {
		return nil, true
	}
	body, _ = io.ReadAll(io.LimitReader(r.Body, MaxPayloadBytes+1))
	return body, len(body) > MaxPayloadBytes
}
