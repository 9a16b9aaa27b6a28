package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"gent/daemon/server/servertest"
)

// gentd usage verify reads the database of the configuration, exits with
// an error naming the drift, and --fix corrects it.
func TestUsageVerifyCommand(t *testing.T) {
	env := servertest.New(t)
	org := env.Setup()
	env.VerifiedDomain(org, "mail.example.com")
	in := env.Inbox(org, "agent@mail.example.com")
	env.Deliver(in, "From: a@example.org\r\nSubject: one\r\n\r\nhello\r\n")
	getenv := func(k string) string {
		switch k {
		case "GENT_DATABASE_URL":
			return env.Store.URL
		case "GENT_DATA_DIR": // the master key the daemon generated
			return env.Config.DataDir
		}
		return ""
	}
	verify := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"gentd", "usage", "verify"}, args...), getenv, &out)
		return out.String(), err
	}
	if out, err := verify(); err != nil || !strings.Contains(out, "usage OK: 1 inboxes") {
		t.Fatalf("clean: %v\n%s", err, out)
	}
	if err := env.Store.DB.Exec(`UPDATE inboxes SET used_bytes = used_bytes + 7 WHERE id = ?`, in.ID).Error; err != nil {
		t.Fatal(err)
	}
	out, err := verify()
	if err == nil || !strings.Contains(err.Error(), "usage drift in 1 of 1 inboxes") || !strings.Contains(out, in.ID) {
		t.Fatalf("drift: %v\n%s", err, out)
	}
	if out, err = verify("--fix"); err != nil || !strings.Contains(out, "fixed "+in.ID) {
		t.Fatalf("fix: %v\n%s", err, out)
	}
	if out, err := verify(); err != nil || !strings.Contains(out, "usage OK") {
		t.Fatalf("after the fix: %v\n%s", err, out)
	}
	var out2 bytes.Buffer
	if err := run(context.Background(), []string{"gentd", "usage"}, getenv, &out2); err == nil || !strings.Contains(err.Error(), "gentd usage verify") {
		t.Fatalf("bare usage: %v", err)
	}
}
