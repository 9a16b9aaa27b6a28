package api_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gent/daemon/auth"
	"gent/daemon/config"
	"gent/daemon/server"
	"gent/daemon/server/servertest"
	"gent/daemon/store"
	"gent/daemon/store/storetest"
	"gent/models"
)

func inboxEnv(t *testing.T, mutate ...func(*config.Config)) (*servertest.Env, servertest.Org, models.Inbox) {
	env := servertest.New(t, mutate...)
	org := env.Setup()
	env.VerifiedDomain(org, "mail.example.com")
	return env, org, env.Inbox(org, "agent@mail.example.com")
}

// The product page's three token bodies, verbatim but for the inbox id.
func TestProductPageTokenBodies(t *testing.T) {
	env, org, in := inboxEnv(t)
	bodies := map[string]string{
		"default":    `{"inbox_id": "inb_123", "label": "ops-agent-production", "scopes": ["email:read", "email:send", "email:write", "files:read"]}`,
		"supervised": `{"inbox_id": "inb_123", "label": "supervised-reply-agent", "scopes": ["email:read", "email:send"], "requires_approval": ["email:send"]}`,
		"observer":   `{"inbox_id": "inb_123", "label": "triage-observer", "scopes": ["email:read", "contacts:read", "files:read"]}`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			var tok models.TokenSecret
			env.MustStatus(201, "POST", "/v1/tokens/", org.Owner, strings.Replace(body, "inb_123", in.ID, 1)).JSON(t, &tok)
			if !auth.ValidTokenFormat(tok.Secret) || !strings.HasPrefix(tok.Secret, tok.Prefix) || tok.Status != "active" {
				t.Fatalf("bad token %+v", tok)
			}
			var who models.WhoAmI
			env.MustStatus(200, "GET", "/v1/token", tok.Secret, nil).JSON(t, &who)
			if who.InboxID != in.ID || who.Address != "agent@mail.example.com" || len(who.Scopes) != len(tok.Scopes) {
				t.Fatalf("whoami %+v", who)
			}
			if name == "supervised" && (len(who.RequiresApproval) != 1 || who.RequiresApproval[0] != "email:send") {
				t.Fatalf("supervised token not held: %+v", who)
			}
			// Only the hash is stored.
			var n int64
			env.Store.DB.Raw(`SELECT count(*) FROM tokens WHERE token_hash = sha256(?::bytea)`, tok.Secret).Scan(&n)
			if n != 1 {
				t.Fatal("token hash not stored")
			}
			env.Store.DB.Raw(`SELECT count(*) FROM tokens t WHERE position(? in t::text) > 0`, tok.Secret[5:]).Scan(&n)
			if n != 0 {
				t.Fatal("raw token stored")
			}
		})
	}
	var listed models.List[models.Token]
	r := env.MustStatus(200, "GET", "/v1/tokens?inbox_id="+in.ID, org.Owner, nil)
	r.JSON(t, &listed)
	if len(listed.Data) != 3 || strings.Contains(string(r.Body), `"token"`) {
		t.Fatalf("list must show 3 tokens and no values: %s", r.Body)
	}
}

func TestTokenValidation(t *testing.T) {
	env, org, in := inboxEnv(t)
	other := env.OtherOrg("Other")
	otherDom := "mail.other.test"
	env.VerifiedDomain(other, otherDom)
	theirs := env.Inbox(other, "x@"+otherDom)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	cases := []struct {
		name, body string
		status     int
		field, msg string
	}{
		{"unknown scope", `{"inbox_id":"IN","label":"x","scopes":["email:read","email:admin"]}`, 422, "scopes[1]", "email:admin"},
		{"no scopes", `{"inbox_id":"IN","label":"x","scopes":[]}`, 422, "scopes", ""},
		{"no label", `{"inbox_id":"IN","scopes":["email:read"]}`, 422, "label", ""},
		{"hold not in scopes", `{"inbox_id":"IN","label":"x","scopes":["email:read"],"requires_approval":["email:send"]}`, 422, "requires_approval[0]", "subset"},
		{"hold not holdable", `{"inbox_id":"IN","label":"x","scopes":["email:read","email:send"],"requires_approval":["email:read"]}`, 422, "requires_approval[0]", "only email:send"},
		{"past expiry", `{"inbox_id":"IN","label":"x","scopes":["email:read"],"expires_at":"` + past + `"}`, 422, "expires_at", ""},
		{"bad expiry", `{"inbox_id":"IN","label":"x","scopes":["email:read"],"expires_at":"tomorrow"}`, 400, "", ""},
		{"no inbox", `{"label":"x","scopes":["email:read"]}`, 422, "inbox_id", ""},
		{"unknown inbox", `{"inbox_id":"inb_nope","label":"x","scopes":["email:read"]}`, 404, "inbox_id", ""},
		{"other org inbox", `{"inbox_id":"` + theirs.ID + `","label":"x","scopes":["email:read"]}`, 404, "inbox_id", ""},
		{"future expiry ok", `{"inbox_id":"IN","label":"x","scopes":["email:read"],"expires_at":"` + future + `"}`, 201, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := env.Do("POST", "/v1/tokens", org.Owner, strings.Replace(tc.body, "IN", in.ID, 1))
			if r.Status != tc.status {
				t.Fatalf("want %d, got %d %s", tc.status, r.Status, r.Body)
			}
			if tc.status >= 400 && tc.status != 400 {
				var eb models.ErrorBody
				r.JSON(t, &eb)
				if eb.Error.Field != tc.field || !strings.Contains(eb.Error.Message, tc.msg) {
					t.Fatalf("want field %q mentioning %q, got %+v", tc.field, tc.msg, eb.Error)
				}
			}
		})
	}
}

// A token with a bad checksum is refused before any database lookup: it is
// a 401 even with the database gone.
func TestTokenChecksumBeforeLookup(t *testing.T) {
	env, org, in := inboxEnv(t)
	tok := env.Token(org, in.ID, []string{"email:read"})
	raw := []byte(tok.Secret)
	raw[10] ^= 1 // flip a bit in the random part; checksum no longer matches
	if auth.ValidTokenFormat(string(raw)) {
		t.Fatal("tampered token passes the checksum")
	}
	env.Store.Pool.Close()
	r := env.Do("GET", "/v1/token", string(raw), nil)
	if r.Status != 401 {
		t.Fatalf("want 401 without touching the database, got %d %s", r.Status, r.Body)
	}
	if r := env.Do("GET", "/v1/token?token="+tok.Secret, "", nil); r.Status != 401 {
		t.Fatalf("tokens in URLs must not be accepted: %d", r.Status)
	}
}

func TestTokenFormat(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		v := auth.NewTokenValue()
		if len(v) != 41 || !strings.HasPrefix(v, "gent_") || !auth.ValidTokenFormat(v) || seen[v] {
			t.Fatalf("bad token %q", v)
		}
		seen[v] = true
	}
	for _, bad := range []string{"", "gent_", "gses_" + strings.Repeat("a", 36), "gent_" + strings.Repeat("a", 36), "gent_" + strings.Repeat("!", 36)} {
		if auth.ValidTokenFormat(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Revocation, rotation and expiry take effect on the next request on every
// replica: two daemons on one database.
func TestRevocationAcrossReplicas(t *testing.T) {
	url := storetest.NewURL(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := servertest.Config(t) // one data_dir: both replicas share the master key
	mk := func() *servertest.Env {
		st, err := store.Connect(context.Background(), url, 10, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Pool.Close)
		d, err := server.New(cfg, st, log)
		if err != nil {
			t.Fatal(err)
		}
		return &servertest.Env{T: t, Daemon: d}
	}
	a, b := mk(), mk()
	org := a.Setup()
	a.VerifiedDomain(org, "mail.example.com")
	in := a.Inbox(org, "agent@mail.example.com")
	tok := a.Token(org, in.ID, []string{"email:read"})
	b.MustStatus(200, "GET", "/v1/token", tok.Secret, nil)

	var rotated models.TokenSecret
	a.MustStatus(200, "POST", "/v1/tokens/"+tok.ID+"/rotate", org.Owner, nil).JSON(t, &rotated)
	if rotated.Secret == tok.Secret || rotated.ID != tok.ID || rotated.RotatedAt == nil {
		t.Fatalf("rotate: %+v", rotated)
	}
	b.MustStatus(401, "GET", "/v1/token", tok.Secret, nil)
	b.MustStatus(200, "GET", "/v1/token", rotated.Secret, nil)

	a.MustStatus(204, "DELETE", "/v1/tokens/"+tok.ID, org.Owner, nil)
	b.MustStatus(401, "GET", "/v1/token", rotated.Secret, nil)
	a.MustStatus(409, "POST", "/v1/tokens/"+tok.ID+"/rotate", org.Owner, nil)
	var listed models.Token
	b.MustStatus(200, "GET", "/v1/tokens/"+tok.ID, org.Owner, nil).JSON(t, &listed)
	if listed.Status != "revoked" || listed.RevokedAt == nil {
		t.Fatalf("revoked token listed as %+v", listed)
	}
	var n int64
	a.Store.DB.Raw(`SELECT count(*) FROM events WHERE type = 'token.revoked' AND payload->>'token_id' = ?`, tok.ID).Scan(&n)
	if n != 1 {
		t.Fatalf("want one token.revoked event, got %d", n)
	}

	exp := a.Token(org, in.ID, []string{"email:read"})
	b.MustStatus(200, "GET", "/v1/token", exp.Secret, nil)
	a.Store.DB.Exec(`UPDATE tokens SET expires_at = now() WHERE id = ?`, exp.ID)
	b.MustStatus(401, "GET", "/v1/token", exp.Secret, nil)

	// Token creation, rotation and revocation are audited.
	for _, action := range []string{"tokens.create", "tokens.rotate", "tokens.revoke"} {
		a.Store.DB.Raw(`SELECT count(*) FROM audit_log WHERE org_id = ? AND action = ? AND outcome = 'success'`, org.ID, action).Scan(&n)
		if n == 0 {
			t.Errorf("%s not audited", action)
		}
	}
}

func TestInboxes(t *testing.T) {
	env := servertest.New(t)
	org := env.Setup()
	env.VerifiedDomain(org, "mail.example.com")
	env.PendingDomain(org, "pending.example.com")
	// The product page body, verbatim.
	var in models.Inbox
	env.MustStatus(201, "POST", "/v1/inboxes/", org.Owner, `{"address": "agent@mail.example.com"}`).JSON(t, &in)
	if !strings.HasPrefix(in.ID, "inb_") || in.Address != "agent@mail.example.com" {
		t.Fatalf("inbox %+v", in)
	}
	cases := []struct {
		name, address string
		status        int
		msg           string
	}{
		{"duplicate", "agent@mail.example.com", 409, "already exists"},
		{"duplicate, other case", "AGENT@Mail.Example.com", 409, "already exists"},
		{"plus tag", "agent+x@mail.example.com", 422, "plus-tags"},
		{"unverified domain", "a@pending.example.com", 422, "not verified"},
		{"foreign domain", "a@elsewhere.example.org", 422, "not a domain of this organization"},
		{"no at", "agent", 422, "not an email address"},
		{"leading dot", ".agent@mail.example.com", 422, "dot"},
		{"double dot", "a..b@mail.example.com", 422, "dot"},
		{"space", "a b@mail.example.com", 422, "may not contain"},
		{"too long local", strings.Repeat("a", 65) + "@mail.example.com", 422, "64"},
		{"empty", "", 422, "required"},
		{"lower-cased", "Support.Bot@MAIL.example.com", 201, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := env.Do("POST", "/v1/inboxes", org.Owner, models.CreateInboxRequest{Address: tc.address})
			if r.Status != tc.status || !strings.Contains(string(r.Body), tc.msg) {
				t.Fatalf("want %d %q, got %d %s", tc.status, tc.msg, r.Status, r.Body)
			}
			if tc.status == 422 && !strings.Contains(string(r.Body), `"field":"address"`) {
				t.Fatalf("422 must name the address field: %s", r.Body)
			}
			if tc.status == 201 {
				var got models.Inbox
				r.JSON(t, &got)
				if got.Address != "support.bot@mail.example.com" {
					t.Fatalf("not normalised: %s", got.Address)
				}
			}
		})
	}
	// PATCH.
	var patched models.Inbox
	env.MustStatus(200, "PATCH", "/v1/inboxes/"+in.ID, org.Owner, `{"display_name":"Ops agent","metadata":{"team":"ops"}}`).JSON(t, &patched)
	if patched.DisplayName != "Ops agent" || patched.Metadata["team"] != "ops" {
		t.Fatalf("patch %+v", patched)
	}
	env.MustStatus(422, "PATCH", "/v1/inboxes/"+in.ID, org.Owner, `{"display_name":"a\nb"}`)
	// Another organization sees nothing.
	other := env.OtherOrg("Other")
	env.MustStatus(404, "GET", "/v1/inboxes/"+in.ID, other.Owner, nil)
	env.MustStatus(404, "PATCH", "/v1/inboxes/"+in.ID, other.Owner, `{"display_name":"x"}`)
	env.MustStatus(404, "DELETE", "/v1/inboxes/"+in.ID, other.Owner, nil)
	var theirs models.List[models.Inbox]
	env.MustStatus(200, "GET", "/v1/inboxes", other.Owner, nil).JSON(t, &theirs)
	if len(theirs.Data) != 0 {
		t.Fatalf("other org lists %d inboxes", len(theirs.Data))
	}
	// Delete: tokens revoked at once, address free again, the row purged by the job.
	tok := env.Token(org, in.ID, []string{"email:read"})
	env.StartJobs()
	env.MustStatus(204, "DELETE", "/v1/inboxes/"+in.ID, org.Owner, nil)
	env.MustStatus(401, "GET", "/v1/token", tok.Secret, nil)
	env.MustStatus(404, "GET", "/v1/inboxes/"+in.ID, org.Owner, nil)
	env.MustStatus(201, "POST", "/v1/inboxes", org.Owner, `{"address": "agent@mail.example.com"}`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int64
		env.Store.DB.Raw(`SELECT count(*) FROM inboxes WHERE id = ?`, in.ID).Scan(&n)
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("deleted inbox not purged by its job")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRateLimitPerCredential(t *testing.T) {
	env, org, in := inboxEnv(t, func(c *config.Config) { c.HTTP.RateLimitPerMinute = 5 })
	tok := env.Token(org, in.ID, []string{"email:read"})
	for i := 0; i < 5; i++ {
		env.MustStatus(200, "GET", "/v1/token", tok.Secret, nil)
	}
	r := env.Do("GET", "/v1/token", tok.Secret, nil)
	if r.Status != 429 || r.Header.Get("Retry-After") == "" || r.ErrorCode() != "rate_limited" {
		t.Fatalf("want 429 with Retry-After, got %d %v", r.Status, r.Header)
	}
	// Another credential is not affected.
	other := env.Token(org, in.ID, []string{"email:read"})
	env.MustStatus(200, "GET", "/v1/token", other.Secret, nil)
}
