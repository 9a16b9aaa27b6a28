package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"gent/daemon/config"
	"gent/daemon/server/servertest"
	"gent/daemon/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// debug.pprof_addr serves the profiles on a listener of its own; the API
// listener never serves them.
func TestPprofOnItsOwnListener(t *testing.T) {
	pprofAddr := freeAddr(t)
	env := servertest.New(t, func(c *config.Config) {
		c.HTTP.Addr, c.SMTP.Addr, c.Debug.PprofAddr = freeAddr(t), freeAddr(t), pprofAddr
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.Serve(ctx, io.Discard) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	api := "http://" + env.Config.HTTP.Addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get(api + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("daemon did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, body := get(t, "http://"+pprofAddr+"/debug/pprof/goroutine?debug=1"); code != 200 || len(body) == 0 {
		t.Fatalf("pprof goroutine profile: %d", code)
	}
	if code, _ := get(t, api+"/debug/pprof/"); code != 404 {
		t.Fatalf("API listener serves /debug/pprof/: %d, want 404", code)
	}
}
