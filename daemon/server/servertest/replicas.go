package servertest

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"gent/daemon/config"
	"gent/daemon/mail"
	"gent/daemon/server"
	"gent/daemon/store"
	"gent/daemon/store/storetest"
)

// Replicas builds n daemons on one fresh database, with one
// configuration (one data_dir, so they share the master key), each with
// its own connection pool and message committer, as n gentd replicas
// would run.
func Replicas(t *testing.T, n int, mutate ...func(*config.Config)) []*Env {
	t.Helper()
	url := storetest.NewURL(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := Config(t)
	for _, m := range mutate {
		m(&cfg)
	}
	out := make([]*Env, 0, n)
	for range n {
		st, err := store.Connect(context.Background(), url, 10, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Pool.Close)
		d, err := server.New(cfg, st, log)
		if err != nil {
			t.Fatal(err)
		}
		d.Mail.StartCommitter(mail.CommitOptions{})
		t.Cleanup(d.Mail.StopCommitter)
		out = append(out, &Env{T: t, Daemon: d})
	}
	return out
}
