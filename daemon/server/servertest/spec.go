package servertest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// The API contract, docs/openapi.yaml, loaded once per test binary.
var spec struct {
	once   sync.Once
	router routers.Router
	err    error
}

func specRouter() (routers.Router, error) {
	spec.once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		path := filepath.Join(filepath.Dir(file), "..", "..", "..", "docs", "openapi.yaml")
		doc, err := openapi3.NewLoader().LoadFromFile(path)
		if err != nil {
			spec.err = fmt.Errorf("load %s: %w", path, err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			spec.err = fmt.Errorf("validate %s: %w", path, err)
			return
		}
		doc.Servers = nil // match any host: requests go to the app in memory
		spec.router, spec.err = gorillamux.NewRouter(doc)
	})
	return spec.router, spec.err
}

var specOptions = &openapi3filter.Options{
	AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc, // the app checks credentials
	IncludeResponseStatus: true,
	MultiError:            true,
}

// checkSpec validates one API call against docs/openapi.yaml: the route
// must be documented; a request the server accepted (status below 400) must
// satisfy the spec (requests a test sends invalid on purpose are refused
// by the server and not checked); the response's status must be documented
// for the route and a JSON body must match its schema. Streams
// (text/event-stream) and raw bodies (message/rfc822, attachments, zone
// files) are checked for status only. It returns "" when all is well.
func checkSpec(method, target string, reqHeader http.Header, reqBody []byte, status int, respHeader http.Header, respBody []byte) string {
	router, err := specRouter()
	if err != nil {
		return err.Error()
	}
	u := target
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		if p := strings.TrimSuffix(u[:i], "/"); p != "" {
			u = p + u[i:]
		}
	} else if p := strings.TrimSuffix(u, "/"); p != "" {
		u = p // trailing slashes are optional on every path
	}
	req := httptest.NewRequest(method, u, bytes.NewReader(reqBody))
	req.Header = reqHeader.Clone()
	route, params, err := router.FindRoute(req)
	if err != nil {
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return "" // a test probing a path the app does not serve
		}
		return fmt.Sprintf("%s %s answered %d but docs/openapi.yaml has no such operation (%v): document the route", method, target, status, err)
	}
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: specOptions}
	if status < 400 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return fmt.Sprintf("%s %s (%s) answered %d to a request docs/openapi.yaml forbids: %v", method, target, route.Path, status, err)
		}
	}
	ct := respHeader.Get("Content-Type")
	opts := *specOptions
	if !strings.Contains(ct, "json") || len(respBody) == 0 {
		opts.ExcludeResponseBody = true
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: respHeader,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: &opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Sprintf("%s %s (%s %s): response %d does not match docs/openapi.yaml: %v\nbody: %s", method, target, method, route.Path, status, err, truncate(respBody))
	}
	return ""
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}
