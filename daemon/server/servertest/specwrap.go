package servertest

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"
)

// specState is an Env's per-request check against docs/openapi.yaml.
type specState struct {
	once     sync.Once
	mu       sync.Mutex
	finished bool // the test has completed: report on stderr instead
}

// specOff reports whether the spec check is turned off for e.
func (e *Env) specOff() bool {
	return e.NoSpecCheck || os.Getenv("GENT_TEST_SPEC_CHECK") == "0"
}

// CheckSpec makes every request the app serves, through Do or a listener
// (Listen, or App.Listener after this call), checked against
// docs/openapi.yaml (checkSpec): whatever client a test drives the API
// with — Do, the TUI's client, a raw net/http request — a route, field or
// status the spec does not describe fails the test. Do and Listen call it;
// a test serving e.App itself calls it before it starts the listener. MCP
// (/mcp) is JSON-RPC, not REST, and is not checked.
func (e *Env) CheckSpec() *Env {
	e.spec.once.Do(func() {
		if e.T != nil {
			// Registered first, so it runs after the cleanups that stop
			// listeners: a request still being served then is reported
			// on stderr (t.Errorf would panic after the test).
			e.T.Cleanup(func() {
				e.spec.mu.Lock()
				e.spec.finished = true
				e.spec.mu.Unlock()
			})
		}
		srv := e.App.Server()
		next := srv.Handler
		srv.Handler = func(ctx *fasthttp.RequestCtx) {
			next(ctx)
			if e.T == nil || e.specOff() {
				return
			}
			if p := string(ctx.Path()); p == "/mcp" || strings.HasPrefix(p, "/mcp/") {
				return
			}
			if msg := checkCtx(ctx); msg != "" {
				e.spec.mu.Lock()
				defer e.spec.mu.Unlock()
				if e.spec.finished {
					fmt.Fprintf(os.Stderr, "API contract (after %s ended): %s\n", e.T.Name(), msg)
					return
				}
				e.T.Errorf("API contract: %s", msg)
			}
		}
	})
	return e
}

// checkCtx checks one served request and its response. A streamed body
// (server-sent events) is checked for status and headers only: reading it
// here would wait for the stream to end.
func checkCtx(ctx *fasthttp.RequestCtx) string {
	reqHeader := http.Header{}
	ctx.Request.Header.VisitAll(func(k, v []byte) { reqHeader.Add(string(k), string(v)) })
	respHeader := http.Header{}
	ctx.Response.Header.VisitAll(func(k, v []byte) { respHeader.Add(string(k), string(v)) })
	if ct := ctx.Response.Header.ContentType(); len(ct) > 0 {
		respHeader.Set("Content-Type", string(ct))
	}
	var respBody []byte
	if !ctx.Response.IsBodyStream() {
		respBody = bytes.Clone(ctx.Response.Body())
	}
	return checkSpec(string(ctx.Method()), string(ctx.RequestURI()), reqHeader, bytes.Clone(ctx.Request.Body()),
		ctx.Response.StatusCode(), respHeader, respBody)
}
