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
					if mt.Schema == nil {
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
					if strings.Contains(ct, "json") && mt.Schema == nil {
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
	// With Node present the npm registry is part of the set-up: a failed
	// fetch fails the test.
	probe := exec.Command(npx, "-y", "@redocly/cli", "--version")
	probe.Env = append(os.Environ(), "NO_UPDATE_NOTIFIER=1", "REDOCLY_TELEMETRY=off")
	if out, err := probe.CombinedOutput(); err != nil {
		t.Fatalf("cannot fetch @redocly/cli through npx: %v: %s", err, lastLine(out))
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
