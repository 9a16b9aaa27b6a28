package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strconv"
	"sync"
	"testing"

	"gent/daemon/delivery"
	"gent/daemon/server/servertest"
	"gent/daemon/store"
	"gent/models"
)

// idemFixture is an agent token that may send, and a send request.
type idemFixture struct {
	env   *servertest.Env
	org   servertest.Org
	inbox models.Inbox
	tok   models.TokenSecret
	path  string
	body  []byte
}

func newIdemFixture(t *testing.T) *idemFixture {
	env := servertest.New(t)
	org := env.Setup()
	name := models.NewID("") + ".example.com"
	env.VerifiedDomain(org, name)
	in := env.Inbox(org, "agent@"+name)
	tok := env.Token(org, in.ID, []string{models.ScopeEmailSend, models.ScopeEmailRead})
	body, _ := json.Marshal(models.SendRequest{To: []string{"someone@outside.test"}, Subject: "once", Text: "only once"})
	return &idemFixture{env: env, org: org, inbox: in, tok: tok, path: "/v1/inboxes/" + in.ID + "/messages/send", body: body}
}

// sent counts the inbox's sent messages.
func (f *idemFixture) sent(t *testing.T) int64 {
	t.Helper()
	var n int64
	if err := f.env.Store.DB.Raw(`SELECT count(*) FROM messages WHERE inbox_id = ? AND direction = 'outbound'`, f.inbox.ID).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// leftInProgress writes the key's row as a daemon killed while running the
// request leaves it: in progress, held by an owner that no longer renews
// its lease (expired).
func (f *idemFixture) leftInProgress(t *testing.T, key, owner string) {
	t.Helper()
	sum := sha256.Sum256(append([]byte("POST "+f.path+"\n"), f.body...))
	if err := f.env.Store.DB.Exec(`INSERT INTO idempotency_keys (credential_id, key, org_id, method, path, body_hash, owner, lease_until)
		VALUES (?, ?, ?, 'POST', ?, ?, ?, now() - interval '1 second')`, f.tok.ID, key, f.org.ID, f.path, sum[:], owner).Error; err != nil {
		t.Fatal(err)
	}
}

// sendAs runs the send the way the handler does under a claim of owner:
// the service call only, as a daemon that dies right after its commit.
func (f *idemFixture) sendAs(key, owner string) (*models.SendResponse, error) {
	var req models.SendRequest
	_ = json.Unmarshal(f.body, &req)
	ctx := store.WithClaim(context.Background(), &store.Claim{CredentialID: f.tok.ID, Key: key, Owner: owner, Status: 202})
	return f.env.Delivery.Send(ctx, delivery.SendInput{OrgID: f.org.ID, InboxID: f.inbox.ID, Mode: delivery.ModeSend, Send: req, TokenID: f.tok.ID})
}

// A key left in progress by a daemon that died before its send committed
// is run again by the retry: one message, and later retries replay it.
func TestIdempotencyKeyOfADeadRequestRunsAgain(t *testing.T) {
	f := newIdemFixture(t)
	f.leftInProgress(t, "crashed-before-commit", "dead")
	r := f.env.MustStatus(202, "POST", f.path, f.tok.Secret, f.body, "Idempotency-Key", "crashed-before-commit")
	if r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("the first complete run is not a replay")
	}
	again := f.env.MustStatus(202, "POST", f.path, f.tok.Secret, f.body, "Idempotency-Key", "crashed-before-commit")
	if string(again.Body) != string(r.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %s, want the replay of %s", again.Body, r.Body)
	}
	if n := f.sent(t); n != 1 {
		t.Fatalf("%d messages sent, want 1", n)
	}
	// The dead request cannot commit after all: its claim was taken over.
	if _, err := f.sendAs("crashed-before-commit", "dead"); models.ErrorCode(err) != models.CodeConflict {
		t.Fatalf("late commit of the dead request: %v, want conflict", err)
	}
	if n := f.sent(t); n != 1 {
		t.Fatalf("%d messages sent after the late commit, want 1", n)
	}
}

// A key whose send committed just before its daemon died (the response
// never stored by the handler) is replayed, never sent again.
func TestIdempotencyKeyOfACommittedDeadRequestReplays(t *testing.T) {
	f := newIdemFixture(t)
	f.leftInProgress(t, "crashed-after-commit", "dead")
	// The lease is renewed by the running request; make it current for
	// the commit, then let it lapse as the daemon dies.
	f.env.Store.DB.Exec(`UPDATE idempotency_keys SET lease_until = now() + interval '1 minute' WHERE key = 'crashed-after-commit'`)
	out, err := f.sendAs("crashed-after-commit", "dead")
	if err != nil {
		t.Fatal(err)
	}
	f.env.Store.DB.Exec(`UPDATE idempotency_keys SET lease_until = now() - interval '1 second' WHERE key = 'crashed-after-commit'`)

	r := f.env.MustStatus(202, "POST", f.path, f.tok.Secret, f.body, "Idempotency-Key", "crashed-after-commit")
	var got models.SendResponse
	r.JSON(t, &got)
	if got.ID != out.ID || got.Status != out.Status || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry answered %s (replayed %q), want the replay of %+v", r.Body, r.Header.Get("Idempotent-Replayed"), out)
	}
	if n := f.sent(t); n != 1 {
		t.Fatalf("%d messages sent, want 1", n)
	}

	// A request whose effect committed through another route (no answer
	// recorded with it) is not run again either: a final 409, not "in
	// progress" and not a second object.
	userBody, _ := json.Marshal(models.CreateUserRequest{Email: "late@acme.test", Password: "correct horse battery", Role: "admin"})
	sum := sha256.Sum256(append([]byte("POST /v1/users\n"), userBody...))
	if err := f.env.Store.DB.Exec(`INSERT INTO idempotency_keys (credential_id, key, org_id, method, path, body_hash, owner, lease_until, effect_committed)
		VALUES (?, 'user-done', ?, 'POST', '/v1/users', ?, 'dead', now() - interval '1 second', true)`, f.org.OwnerID, f.org.ID, sum[:]).Error; err != nil {
		t.Fatal(err)
	}
	u := f.env.Do("POST", "/v1/users", f.org.Owner, userBody, "Idempotency-Key", "user-done")
	if u.Status != 409 || u.Header.Get("Retry-After") != "" {
		t.Fatalf("committed without an answer: %d %v %s, want a final 409", u.Status, u.Header, u.Body)
	}
	var users int64
	f.env.Store.DB.Raw(`SELECT count(*) FROM users WHERE email = 'late@acme.test'`).Scan(&users)
	if users != 0 {
		t.Fatal("the request was run again")
	}
}

// A key whose request is still running (its lease current) is a 409 with
// Retry-After until the lease ends.
func TestIdempotencyKeyInProgress(t *testing.T) {
	f := newIdemFixture(t)
	f.leftInProgress(t, "running", "alive")
	f.env.Store.DB.Exec(`UPDATE idempotency_keys SET lease_until = now() + interval '20 seconds' WHERE key = 'running'`)
	r := f.env.Do("POST", f.path, f.tok.Secret, f.body, "Idempotency-Key", "running")
	if n, _ := strconv.Atoi(r.Header.Get("Retry-After")); r.Status != 409 || n < 1 || n > 20 {
		t.Fatalf("in progress: %d Retry-After %q %s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	if n := f.sent(t); n != 0 {
		t.Fatalf("%d messages sent, want 0", n)
	}
}

// Identical requests at once with one key: one message; every answer is
// the send's 202 or "in progress".
func TestIdempotencyConcurrentRequests(t *testing.T) {
	f := newIdemFixture(t)
	const n = 8
	var wg sync.WaitGroup
	statuses := make([]int, n)
	bodies := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := f.env.Do("POST", f.path, f.tok.Secret, f.body, "Idempotency-Key", "together")
			statuses[i], bodies[i] = r.Status, string(r.Body)
		}()
	}
	wg.Wait()
	var first string
	for i, s := range statuses {
		switch s {
		case 202:
			if first == "" {
				first = bodies[i]
			} else if bodies[i] != first {
				t.Errorf("two different 202 answers: %s and %s", first, bodies[i])
			}
		case 409:
		default:
			t.Errorf("status %d: %s", s, bodies[i])
		}
	}
	if first == "" {
		t.Fatalf("no request answered 202: %v", statuses)
	}
	if got := f.sent(t); got != 1 {
		t.Fatalf("%d messages sent, want 1", got)
	}
}
