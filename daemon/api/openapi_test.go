package api_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// noSchemaYet lists bodies still documented by example only; it shrinks
// to nothing as their schemas are written.
var noSchemaYet = map[string]bool{
	"DELETE /v1/domains/{id} 409":                                 true,
	"GET /v1/approvals/{id} 200":                                  true,
	"GET /v1/approvals 200":                                       true,
	"GET /v1/auth/me 200":                                         true,
	"GET /v1/auth/status 200":                                     true,
	"GET /v1/inboxes/{inbox_id}/drafts 200":                       true,
	"GET /v1/inboxes/{inbox_id}/messages/{id}/delivery 200":       true,
	"GET /v1/inboxes/{inbox_id}/suppressions 200":                 true,
	"GET /v1/scopes 200":                                          true,
	"GET /v1/token 200":                                           true,
	"GET /v1/users 200":                                           true,
	"PATCH /v1/inboxes/{id} request":                              true,
	"PATCH /v1/inboxes/{inbox_id}/drafts/{id} request":            true,
	"POST /v1/approvals/{id}/approve request":                     true,
	"POST /v1/approvals/{id}/reject request":                      true,
	"POST /v1/auth/login request":                                 true,
	"POST /v1/auth/setup request":                                 true,
	"POST /v1/domains 409":                                        true,
	"POST /v1/domains 422":                                        true,
	"POST /v1/inboxes/{inbox_id}/drafts request":                  true,
	"POST /v1/inboxes/{inbox_id}/messages/send request":           true,
	"POST /v1/inboxes/{inbox_id}/messages/send 202":               true,
	"POST /v1/inboxes/{inbox_id}/messages/{id}/forward request":   true,
	"POST /v1/inboxes/{inbox_id}/messages/{id}/reply-all request": true,
	"POST /v1/inboxes/{inbox_id}/messages/{id}/reply request":     true,
	"POST /v1/users request":                                      true,
	"POST /v1/webhooks request":                                   true,
}

const specPath = "../../docs/openapi.yaml"

// loadSpec loads docs/openapi.yaml with kin-openapi, the loader most Go
// tools (oapi-codegen among them) are built on, and validates it.
func loadSpec(t testing.TB) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(specPath)
	if err != nil {
		t.Fatalf("kin-openapi cannot load docs/openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("docs/openapi.yaml is not valid OpenAPI (kin-openapi): %v", err)
	}
	return doc
}

// TestOpenAPIValidates checks that the spec loads and validates under
// kin-openapi, and that every operation carries what client generators
// need: a unique operationId, a tag, a schema for every request body and
// JSON response, and `security: []` on public routes.
func TestOpenAPIValidates(t *testing.T) {
	doc := loadSpec(t)
	ids := map[string]string{}
	var problems []string
	add := func(key, format string) { problems = append(problems, key+": "+format) }
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			if op.OperationID == "" {
				add(key, "no operationId")
			} else if prev, dup := ids[op.OperationID]; dup {
				add(key, "operationId "+op.OperationID+" also used by "+prev)
			} else {
				ids[op.OperationID] = key
			}
			if len(op.Tags) == 0 {
				add(key, "no tags")
			}
			auth, _ := op.Extensions["x-gent-auth"].(string)
			if auth == "public" && (op.Security == nil || len(*op.Security) != 0) {
				add(key, "x-gent-auth: public but no `security: []`")
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for ct, mt := range op.RequestBody.Value.Content {
					if mt.Schema == nil && !noSchemaYet[key+" request"] {
						add(key, "request body "+ct+" has no schema")
					}
				}
			}
			if op.Responses == nil {
				continue
			}
			for status, resp := range op.Responses.Map() {
				if resp.Value == nil {
					continue
				}
				for ct, mt := range resp.Value.Content {
					if strings.Contains(ct, "json") && mt.Schema == nil && !noSchemaYet[key+" "+status] {
						add(key, "response "+status+" "+ct+" has no schema")
					}
				}
			}
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		t.Errorf("docs/openapi.yaml: %d operation(s) miss what generators need:\n  %s",
			len(problems), strings.Join(problems, "\n  "))
	}
}

// TestOpenAPIRedoclyLint runs `@redocly/cli lint` through npx when Node is
// installed and the package can be fetched; it fails on any lint error.
// Offline or without Node it is skipped with a printed line (kin-openapi
// above is the required check).
func TestOpenAPIRedoclyLint(t *testing.T) {
	if testing.Short() {
		t.Skip("redocly lint skipped in -short mode")
	}
	npx, err := exec.LookPath("npx")
	if err != nil {
		t.Skip("redocly lint skipped: npx (Node) is not installed")
	}
	abs, err := filepath.Abs(specPath)
	if err != nil {
		t.Fatal(err)
	}
	// Fetching the package is allowed to fail (offline); check it first.
	probe := exec.Command(npx, "-y", "@redocly/cli", "--version")
	probe.Env = append(os.Environ(), "NO_UPDATE_NOTIFIER=1", "REDOCLY_TELEMETRY=off")
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("redocly lint skipped: cannot fetch @redocly/cli through npx (%v): %s", err, lastLine(out))
	}
	cmd := exec.Command(npx, "-y", "@redocly/cli", "lint", "--format=stylish", abs)
	cmd.Env = append(os.Environ(), "NO_UPDATE_NOTIFIER=1", "REDOCLY_TELEMETRY=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redocly lint reports errors in docs/openapi.yaml (%v):\n%s", err, out)
	}
	t.Logf("redocly lint: %s", lastLine(out))
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
