package api_test

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"gent/daemon/server/servertest"
)

var paramRe = regexp.MustCompile(`:([a-z_]+)`)

// TestSpecCoversEveryRoute checks that docs/openapi.yaml documents exactly
// the routes the app registers, each with x-gent-auth and responses.
func TestSpecCoversEveryRoute(t *testing.T) {
	b, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		t.Fatalf("parse openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(spec.OpenAPI, "3.1") {
		t.Fatalf("want OpenAPI 3.1, got %q", spec.OpenAPI)
	}
	inSpec := map[string]bool{}
	for path, ops := range spec.Paths {
		for method, raw := range ops {
			op, ok := raw.(map[string]any)
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			if !ok {
				t.Errorf("%s %s: not an operation", method, path)
				continue
			}
			key := strings.ToUpper(method) + " " + path
			inSpec[key] = true
			if _, ok := op["x-gent-auth"]; !ok {
				t.Errorf("%s: no x-gent-auth", key)
			}
			if _, ok := op["responses"]; !ok {
				t.Errorf("%s: no responses", key)
			}
		}
	}
	env := servertest.New(t)
	inApp := map[string]bool{}
	for _, r := range env.App.GetRoutes(true) {
		if r.Method == "HEAD" {
			continue
		}
		inApp[r.Method+" "+paramRe.ReplaceAllString(r.Path, "{$1}")] = true
	}
	var missing, extra []string
	for k := range inApp {
		if !inSpec[k] {
			missing = append(missing, k)
		}
	}
	for k := range inSpec {
		if !inApp[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes not documented in docs/openapi.yaml:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("documented paths the app does not serve:\n  %s", strings.Join(extra, "\n  "))
	}
}
