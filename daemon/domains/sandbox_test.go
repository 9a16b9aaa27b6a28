package domains_test

import (
	"testing"

	"gent/daemon/domains"
)

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Acme":             "acme",
		"  Acme, Inc. ":    "acme-inc",
		"Société Générale": "soci-t-g-n-rale",
		"日本":               "org",
		"---":              "org",
		"a very long organization name that goes on and on": "a-very-long-organization-name-that-goes",
		"R&D 2": "r-d-2",
	} {
		if got := domains.Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}
