package common

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"gent/models"
	"gent/tui/client"
)

func TestRequestsDropStaleReplies(t *testing.T) {
	var r Requests
	if busy, _ := r.Busy(); busy {
		t.Fatal("busy before any call")
	}
	r.Start("list", 1, "Loading…")
	r.Start("list", 2, "Loading again…") // supersedes 1
	r.Start("create", 3, "Creating…")
	if busy, label := r.Busy(); !busy || label != "Creating…" {
		t.Fatalf("busy %v %q", busy, label)
	}
	if _, ok := r.Done(1); ok {
		t.Fatal("the superseded reply was accepted")
	}
	if name, ok := r.Done(2); !ok || name != "list" {
		t.Fatalf("Done(2) = %q %v", name, ok)
	}
	if _, ok := r.Done(2); ok {
		t.Fatal("a reply was accepted twice")
	}
	if !r.Pending("create") || r.Pending("list") {
		t.Fatal("pending state wrong")
	}
	if _, ok := r.Done(99); ok {
		t.Fatal("another screen's reply was accepted")
	}
	r.Done(3)
	if busy, _ := r.Busy(); busy {
		t.Fatal("still busy after every reply")
	}
}

func TestCallAnswersResultOrError(t *testing.T) {
	cl, err := client.New("http://127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	c := NewCommon(cl)
	id1, cmd := Call(c, func(ctx context.Context, got *client.Client) (int, error) {
		if got != cl {
			t.Error("the call got another client")
		}
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the call has no deadline")
		}
		return 42, nil
	})
	if msg, ok := cmd().(ResultMsg[int]); !ok || msg.ID != id1 || msg.Value != 42 {
		t.Fatalf("result %#v", cmd())
	}
	id2, cmd := Call(c, func(context.Context, *client.Client) (int, error) { return 0, errors.New("boom") })
	if id2 <= id1 {
		t.Fatalf("ids not increasing: %d then %d", id1, id2)
	}
	if msg, ok := cmd().(ErrorMsg); !ok || msg.ID != id2 || msg.Err.Error() != "boom" {
		t.Fatalf("error %#v", cmd())
	}
}

func TestStartRecordsTheCall(t *testing.T) {
	cl, err := client.New("http://127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	c := NewCommon(cl)
	var r Requests
	first := Start(c, &r, "list", "Loading…", func(context.Context, *client.Client) (int, error) { return 1, nil })
	second := Start(c, &r, "list", "Loading again…", func(context.Context, *client.Client) (int, error) { return 2, nil })
	if busy, label := r.Busy(); !busy || label != "Loading again…" || !r.Pending("list") {
		t.Fatalf("busy %v %q pending %v", busy, label, r.Pending("list"))
	}
	stale := first().(ResultMsg[int])
	if _, ok := r.Done(stale.ID); ok {
		t.Fatal("the superseded call's reply was accepted")
	}
	fresh := second().(ResultMsg[int])
	if name, ok := r.Done(fresh.ID); !ok || name != "list" || fresh.Value != 2 {
		t.Fatalf("Done(%d) = %q %v, value %d", fresh.ID, name, ok, fresh.Value)
	}
	if r.Pending("list") {
		t.Fatal("still pending after its reply")
	}
}

func TestDescribe(t *testing.T) {
	refused := fmt.Errorf("GET /v1/auth/status: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")})
	cases := []struct {
		err  error
		want string
	}{
		{&client.APIError{Status: 422, Err: models.Invalid("email", "email is required")}, "Email is required."},
		{&client.APIError{Status: 429, Err: &models.Error{Code: models.CodeRateLimited, Message: "too many failed sign-in attempts; try again later", RetryAfter: 90 * time.Second}},
			"Too many failed sign-in attempts; try again later. Try again in 1m30s."},
		{refused, "Cannot reach the daemon: connection refused."},
		{fmt.Errorf("GET /x: %w", context.DeadlineExceeded), "The daemon did not answer within 30s."},
		{errors.New("something odd"), "Something odd."},
	}
	for _, c := range cases {
		if got := Describe(c.err); got != c.want {
			t.Errorf("Describe(%v) = %q, want %q", c.err, got, c.want)
		}
	}
	api := &client.APIError{Status: 401, Err: &models.Error{Code: models.CodeUnauthorized, Message: "x", Field: "setup_code"}}
	if !Unauthorized(api) || Field(api) != "setup_code" || Code(api) != models.CodeUnauthorized {
		t.Fatal("Unauthorized/Field/Code do not see through APIError")
	}
	if Unauthorized(errors.New("401")) {
		t.Fatal("a plain error counted as unauthorized")
	}
}
