package api_test

import (
	"testing"

	"gent/daemon/server/servertest"
)

// Values read from a request must stay valid after its handler returns
// (event streams, goroutines, caches and logs keep them): the app copies
// them. Turning Immutable off brings back the class of bug where a stream
// read another request's inbox id (TestStreamsSeeOnlyTheirOwnInbox).
func TestAppIsImmutable(t *testing.T) {
	env := servertest.New(t)
	if !env.App.Config().Immutable {
		t.Fatal("the Fiber app must run with Immutable: true")
	}
}
