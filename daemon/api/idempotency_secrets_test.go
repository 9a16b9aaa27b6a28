package api_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"gent/daemon/server/servertest"
	"gent/models"
)

// A secret is shown once: repeating a token creation, a rotation or a
// webhook creation with its Idempotency-Key answers the object without the
// secret (null, secret_shown_once, a note), and the idempotency store never
// holds the raw value.
func TestIdempotentReplayNeverShowsASecretTwice(t *testing.T) {
	env := servertest.New(t)
	org := env.Setup()
	name := models.NewID("") + ".example.com"
	env.VerifiedDomain(org, name)
	in := env.Inbox(org, "agent@"+name)
	tok := env.Token(org, in.ID, []string{models.ScopeEmailRead})

	cases := []struct {
		name, path, field, prefix string
		status                    int
		body                      any
	}{
		{"token create", "/v1/tokens", "token", "gent_", 201,
			models.CreateTokenRequest{InboxID: in.ID, Label: "once", Scopes: []string{models.ScopeEmailRead}}},
		{"token rotate", "/v1/tokens/" + tok.ID + "/rotate", "token", "gent_", 200, nil},
		{"webhook create", "/v1/webhooks/", "secret", "whsec_", 201,
			map[string]any{"url": "http://127.0.0.1:9/hook", "event_types": []string{models.EventMessageReceived}}},
	}
	for _, c := range cases {
		key := "key-" + c.field + "-" + c.name
		first := env.MustStatus(c.status, "POST", c.path, org.Owner, c.body, "Idempotency-Key", key)
		var fm map[string]any
		first.JSON(t, &fm)
		secret, _ := fm[c.field].(string)
		if !strings.HasPrefix(secret, c.prefix) {
			t.Fatalf("%s: first response has no %s: %s", c.name, c.field, first.Body)
		}
		for range 2 {
			again := env.MustStatus(c.status, "POST", c.path, org.Owner, c.body, "Idempotency-Key", key)
			if bytes.Contains(again.Body, []byte(secret)) {
				t.Fatalf("%s: the replay shows the secret again: %s", c.name, again.Body)
			}
			var am map[string]any
			again.JSON(t, &am)
			if am["id"] != fm["id"] || am[c.field] != nil || am["secret_shown_once"] != true || am["note"] == "" ||
				again.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("%s: replay %s, want the object with %s null, secret_shown_once and a note", c.name, again.Body, c.field)
			}
		}
		var stored []byte
		if err := env.Store.DB.Raw(`SELECT response FROM idempotency_keys WHERE key = ?`, key).Row().Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if len(stored) == 0 || bytes.Contains(stored, []byte(secret)) {
			t.Fatalf("%s: the idempotency store holds the raw secret: %s", c.name, stored)
		}
	}
	// The rotated token works (the rotation ran once).
	var rows int64
	env.Store.DB.Raw(`SELECT count(*) FROM tokens WHERE label = 'once'`).Scan(&rows)
	if rows != 1 {
		t.Fatalf("%d tokens made, want 1", rows)
	}
}

// Migration 00015 rewrites the replays stored raw by older daemons.
func TestMigrationClearsStoredSecrets(t *testing.T) {
	env := servertest.New(t)
	org := env.Setup()
	rows := []struct{ key, path, body string }{
		{"t1", "/v1/tokens", `{"id":"tok_x","label":"a","token":"gent_RAWTOKENVALUE"}`},
		{"t2", "/v1/tokens/tok_x/rotate/", `{"id":"tok_x","token":"gent_RAWROTATED"}`},
		{"w1", "/v1/webhooks", `{"id":"whk_x","url":"https://x.test","secret":"whsec_RAWSECRET"}`},
		{"u1", "/v1/users", `{"id":"usr_x","email":"a@b.test"}`},
	}
	for _, r := range rows {
		if err := env.Store.DB.Exec(`INSERT INTO idempotency_keys (credential_id, key, org_id, method, path, body_hash, status, content_type, response)
			VALUES (?, ?, ?, 'POST', ?, ?, 201, 'application/json', ?)`, org.OwnerID, r.key, org.ID, r.path, []byte{0}, []byte(r.body)).Error; err != nil {
			t.Fatal(err)
		}
	}
	sql, err := os.ReadFile("../store/migrations/00015_idempotency_claims.sql")
	if err != nil {
		t.Fatal(err)
	}
	up := strings.Split(strings.Split(string(sql), "-- +goose Down")[0], ";")
	ran := 0
	for _, stmt := range up {
		if strings.Contains(stmt, "secret_shown_once") {
			if err := env.Store.DB.Exec(stmt).Error; err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
			ran++
		}
	}
	if ran != 2 {
		t.Fatalf("ran %d redaction statements, want 2", ran)
	}
	for _, r := range rows {
		var resp []byte
		if err := env.Store.DB.Raw(`SELECT response FROM idempotency_keys WHERE key = ?`, r.key).Row().Scan(&resp); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(resp, &m); err != nil {
			t.Fatalf("%s: %v", r.key, err)
		}
		if r.key == "u1" {
			if string(resp) != r.body && m["secret_shown_once"] != nil {
				t.Fatalf("u1 changed: %s", resp)
			}
			continue
		}
		if strings.Contains(string(resp), "RAW") || m["secret_shown_once"] != true || m["id"] == nil {
			t.Fatalf("%s: %s", r.key, resp)
		}
	}
}
