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
	status      int
	headers     map[string]string // header -> 'static' or method.request.{header,querystring,path}.name
	template    string            // application/json
	hasTemplate bool
}

// gatewayResponses reads the template's gateway responses by ResponseType.
// A header mapped from anything but a static value or a method request
// parameter is refused: the emulator would otherwise send a wrong header.
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
				h, ok := strings.CutPrefix(k, "gatewayresponse.header.")
				if !ok {
					continue
				}
				expr, _ := v.(string)
				if !isStatic(expr) && !strings.HasPrefix(expr, "method.request.header.") &&
					!strings.HasPrefix(expr, "method.request.querystring.") && !strings.HasPrefix(expr, "method.request.path.") {
					return nil, fmt.Errorf("apigw: gateway response %s: header %s = %v: the emulator maps only 'static' values and method.request.header/querystring/path parameters", id, h, v)
				}
				gr.headers[h] = expr
			}
		}
		if tpls, ok := p["ResponseTemplates"].(map[string]any); ok {
			gr.template, gr.hasTemplate = tpls["application/json"].(string)
		}
		out[typ] = gr
	}
	return out, nil
}

func isStatic(expr string) bool {
	return len(expr) >= 2 && strings.HasPrefix(expr, "'") && strings.HasSuffix(expr, "'")
}

// headerValue is a response parameter's value for r: a 'static' value, or a
// method request parameter (header, query string, path).
func headerValue(expr string, r *http.Request, params map[string]string) string {
	if isStatic(expr) {
		return expr[1 : len(expr)-1]
	}
	if name, ok := strings.CutPrefix(expr, "method.request.header."); ok {
		return r.Header.Get(name)
	}
	if name, ok := strings.CutPrefix(expr, "method.request.querystring."); ok {
		return r.URL.Query().Get(name)
	}
	if name, ok := strings.CutPrefix(expr, "method.request.path."); ok {
		return params[name]
	}
	return ""
}

// gwError is an answer API Gateway itself gives, by gateway response type
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
type gwError struct {
	typ     string
	status  int
	message string // $context.error.message; "" is null (the authorizer errors)
	// validation is $context.error.validationErrorString.
	validation string
	// body is API Gateway's default body when no template applies; "" means
	// {"message": message}.
	body string
}

var (
	errUnauthorized = gwError{typ: "UNAUTHORIZED", status: http.StatusUnauthorized, message: "Unauthorized"}
	errMissingToken = gwError{typ: "MISSING_AUTHENTICATION_TOKEN", status: http.StatusForbidden, message: "Missing Authentication Token"}
	// The authorizer failed or answered something API Gateway cannot use: 500 with a null message.
	errAuthorizerFailure = gwError{typ: "AUTHORIZER_FAILURE", status: http.StatusInternalServerError}
	errAuthorizerConfig  = gwError{typ: "AUTHORIZER_CONFIGURATION_ERROR", status: http.StatusInternalServerError}
	// A Lambda proxy integration that fails (function error, malformed or
	// oversized response) is 502 Internal server error, response type
	// INTEGRATION_FAILURE (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html).
	errIntegration = gwError{typ: "INTEGRATION_FAILURE", status: http.StatusBadGateway, message: "Internal server error"}
	// An event over Lambda's 6 MB invoke quota: 413 "Request Too Long" (the
	// request passed API Gateway's 10 MB, the invoke did not). AWS documents
	// the quota (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html),
	// not the answer: this one is as observed from a REST API in
	// https://github.com/koki-develop/lgtm-generator/issues/10.
	errRequestTooLarge  = gwError{typ: "REQUEST_TOO_LARGE", status: http.StatusRequestEntityTooLarge, message: "Request Too Long"}
	errUnsupportedMedia = gwError{typ: "UNSUPPORTED_MEDIA_TYPE", status: http.StatusUnsupportedMediaType, message: "Unsupported Media Type"}
)

// accessDenied is the policy's deny; API Gateway's default body spells "Message".
func accessDenied(explicit bool) gwError {
	msg := "User is not authorized to access this resource"
	if explicit {
		msg += " with an explicit deny"
	}
	b, _ := json.Marshal(map[string]string{"Message": msg})
	return gwError{typ: "ACCESS_DENIED", status: http.StatusForbidden, message: msg, body: string(b)}
}

// gatewayError answers as API Gateway does for e: the template's gateway
// response of e's type, else its DEFAULT_4XX or DEFAULT_5XX (by e's status),
// else API Gateway's default. The response's headers (CORS headers, for
// one) are sent; its status code counts only on the response of e's own
// type; its template (with the $context.error variables) replaces the body.
func (a *RESTAPI) gatewayError(w http.ResponseWriter, r *http.Request, params map[string]string, e gwError) {
	status := e.status
	gr, ok := a.responses[e.typ]
	if ok && gr.status != 0 {
		status = gr.status
	}
	if !ok {
		fallback := "DEFAULT_4XX"
		if e.status >= 500 {
			fallback = "DEFAULT_5XX"
		}
		gr, ok = a.responses[fallback]
	}
	messageString := "null"
	if e.message != "" {
		b, _ := json.Marshal(e.message)
		messageString = string(b)
	}
	body := e.body
	if body == "" {
		body = `{"message":` + messageString + `}`
	}
	if ok && gr.hasTemplate {
		escaped, _ := json.Marshal(e.validation)
		body = strings.NewReplacer(
			"$context.error.messageString", messageString,
			"$context.error.message", e.message,
			"$context.error.validationErrorString", string(escaped[1:len(escaped)-1]),
			"$context.error.responseType", e.typ,
		).Replace(gr.template)
	}
	if ok {
		for k, expr := range gr.headers {
			if v := headerValue(expr, r, params); v != "" {
				w.Header().Set(k, v)
			}
		}
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
