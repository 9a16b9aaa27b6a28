package api_test

import (
	"fmt"
	"strings"
	"testing"

	"gent/daemon/server/servertest"
	"gent/models"
)

// Access classes, written independently of the policies in routes.go so
// that the two check each other.
const (
	pub       = "public"    // no credential needed
	anyUser   = "user"      // any session
	reviewers = "reviewers" // owner, admin, reviewer sessions
	admins    = "admins"    // owner and admin sessions
	owners    = "owners"    // owner sessions only
	tokenOnly = "token"     // agent tokens only (any scope)
)

// inboxClass is an inbox route: owner/admin sessions of the inbox's
// organization, or the inbox's own token holding scope.
func inboxClass(scope string) string { return "inbox:" + scope }

// routeAccess lists every route. A route missing here fails the test: every
// new route joins the isolation matrix in the same commit.
var routeAccess = map[string]string{
	"GET /healthz":         pub,
	"GET /readyz":          pub,
	"GET /v1/auth/status":  pub,
	"POST /v1/auth/setup":  pub,
	"POST /v1/auth/login":  pub,
	"POST /v1/auth/logout": anyUser,
	"GET /v1/auth/me":      anyUser,
	"GET /v1/users":        admins,
	"POST /v1/users":       admins,
	"GET /v1/audit":        reviewers,

	"GET /v1/events":                   reviewers,
	"GET /v1/inboxes/:inbox_id/events": inboxClass("email:read"),
	"POST /v1/webhooks":                admins,
	"GET /v1/webhooks":                 admins,
	"GET /v1/webhooks/:id":             admins,
	"DELETE /v1/webhooks/:id":          admins,
	"GET /v1/webhooks/:id/deliveries":  admins,
}

// credential kinds of the matrix.
type cred struct {
	name string
	// make returns a fresh bearer value ("" for none).
	make func() string
	role string // session role, or "" for non-sessions
	// token kinds
	token    bool
	scopes   []string
	ownInbox bool
	otherOrg bool
	dead     bool // invalid, expired or revoked
}

// fixture holds the objects path parameters point at.
type fixture struct {
	env    *servertest.Env
	org    servertest.Org
	params map[string]string // path parameter -> an object of org
	// makers build a fresh object per request, for parameters whose
	// routes destroy their object (DELETE). Keys as for params.
	makers map[string]func() string
}

func newFixture(t *testing.T) *fixture {
	env := servertest.New(t)
	org := env.Setup()
	f := &fixture{env: env, org: org, params: map[string]string{}, makers: map[string]func() string{}}
	f.addEventsFixtures()
	return f
}

// path fills a route's parameters. Parameters named alike on different
// resources (":id") are told apart by the segment before them: a key
// "webhooks/id" wins over "id".
func (f *fixture) path(p string) string {
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		if !strings.HasPrefix(seg, ":") {
			continue
		}
		name := seg[1:]
		keys := []string{name}
		if i > 0 {
			keys = []string{segs[i-1] + "/" + name, name}
		}
		found := false
		for _, k := range keys {
			if mk, ok := f.makers[k]; ok {
				segs[i], found = mk(), true
			} else if v, ok := f.params[k]; ok {
				segs[i], found = v, true
			}
			if found {
				break
			}
		}
		if !found {
			f.env.T.Fatalf("isolation fixture has no object for %s in %s", seg, p)
		}
	}
	return strings.Join(segs, "/")
}

func (f *fixture) creds() []cred {
	e, org := f.env, f.org
	other := e.OtherOrg("Other")
	expired := func() string {
		s := e.User(org, models.RoleAdmin)
		if err := e.Store.DB.Exec(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = sha256(?::bytea)`, s).Error; err != nil {
			e.T.Fatal(err)
		}
		return s
	}
	revoked := func() string {
		s := e.User(org, models.RoleAdmin)
		e.MustStatus(204, "POST", "/v1/auth/logout", s, nil)
		return s
	}
	return []cred{
		{name: "anonymous", make: func() string { return "" }, dead: true},
		{name: "malformed", make: func() string { return "gses_not-a-session" }, dead: true},
		{name: "expired session", make: expired, dead: true},
		{name: "revoked session", make: revoked, dead: true},
		{name: "owner", make: func() string { return e.Login(org.OwnerEmail) }, role: models.RoleOwner},
		{name: "admin", make: func() string { return e.User(org, models.RoleAdmin) }, role: models.RoleAdmin},
		{name: "reviewer", make: func() string { return e.User(org, models.RoleReviewer) }, role: models.RoleReviewer},
		{name: "other org owner", make: func() string { return e.Login(other.OwnerEmail) }, role: models.RoleOwner, otherOrg: true},
	}
}

// expect returns the status the matrix demands, or 0 for "allowed": any
// status but 401, 403 and (for objects of the organization) 404.
func expect(class string, c cred, hasObject bool) int {
	if class == pub {
		return 0
	}
	if c.dead {
		return 401
	}
	allowedRoles := map[string][]string{
		anyUser:   {models.RoleOwner, models.RoleAdmin, models.RoleReviewer},
		reviewers: {models.RoleOwner, models.RoleAdmin, models.RoleReviewer},
		admins:    {models.RoleOwner, models.RoleAdmin},
		owners:    {models.RoleOwner},
	}
	if strings.HasPrefix(class, "inbox:") {
		allowedRoles[class] = []string{models.RoleOwner, models.RoleAdmin}
	}
	if c.role != "" {
		roles, ok := allowedRoles[class]
		if !ok {
			return 403 // token-only route
		}
		for _, r := range roles {
			if r == c.role {
				if c.otherOrg && hasObject {
					return 404
				}
				return 0
			}
		}
		return 403
	}
	// Agent tokens.
	if !strings.HasPrefix(class, "inbox:") {
		if class == tokenOnly {
			return 0
		}
		return 403
	}
	if !c.ownInbox {
		return 404
	}
	scope := strings.TrimPrefix(class, "inbox:")
	if scope != "" {
		for _, s := range c.scopes {
			if s == scope {
				return 0
			}
		}
		return 403
	}
	return 0
}

func TestIsolationMatrix(t *testing.T) {
	f := newFixture(t)
	creds := f.creds()
	routes := f.env.App.GetRoutes(true)
	seen := map[string]bool{}
	for _, r := range routes {
		if r.Method == "HEAD" {
			continue
		}
		key := r.Method + " " + r.Path
		seen[key] = true
		class, ok := routeAccess[key]
		if !ok {
			t.Errorf("route %s has no entry in the isolation matrix (routeAccess)", key)
			continue
		}
		hasObject := strings.Contains(r.Path, ":")
		for _, c := range creds {
			want := expect(class, c, hasObject)
			bearer := c.make()
			body := any(nil)
			if r.Method != "GET" && r.Method != "DELETE" {
				body = "{}"
			}
			resp := f.env.Do(r.Method, f.path(r.Path), bearer, body)
			desc := fmt.Sprintf("%s as %s", key, c.name)
			switch {
			case want == 0 && (resp.Status == 401 || resp.Status == 403 || (hasObject && resp.Status == 404)):
				t.Errorf("%s: want access, got %d %s", desc, resp.Status, resp.Body)
			case want != 0 && resp.Status != want:
				t.Errorf("%s: want %d, got %d %s", desc, want, resp.Status, resp.Body)
			}
		}
	}
	for key := range routeAccess {
		if !seen[key] {
			t.Errorf("routeAccess lists %s, which the app does not serve", key)
		}
	}
}
