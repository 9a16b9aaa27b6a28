package session

import (
	"os"
	"strings"
	"testing"
	"time"

	"gent/tui/client"
)

func TestSaveLoadClear(t *testing.T) {
	dir := t.TempDir()
	st, err := NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, b := "http://127.0.0.1:8080", "https://gent.example.com/"
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	if err := st.Save(a, Saved{Token: "gses_a", ExpiresAt: exp, Email: "a@x.test"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(b, Saved{Token: "gses_b", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(st.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("session file mode %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(dir + "/gent"); di.Mode().Perm() != 0o700 {
		t.Fatalf("session dir mode %v, want 0700", di.Mode().Perm())
	}
	got, ok, err := st.Load(a + "/")
	if err != nil || !ok || got.Token != "gses_a" || !got.ExpiresAt.Equal(exp) || got.Email != "a@x.test" {
		t.Fatalf("load a: %+v %v %v", got, ok, err)
	}
	if err := st.Clear(a); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := st.Load(a); ok {
		t.Fatal("session for a survived Clear")
	}
	if got, ok, _ := st.Load("https://gent.example.com"); !ok || got.Token.Reveal() != "gses_b" {
		t.Fatalf("session for b lost: %+v %v", got, ok)
	}
	raw, _ := os.ReadFile(st.Path())
	if !strings.Contains(string(raw), `"token": "gses_b"`) {
		t.Fatalf("file does not hold the raw token: %s", raw)
	}
}

func TestExpiredIsNotLoaded(t *testing.T) {
	st, _ := NewStore(t.TempDir())
	if err := st.Save("http://h", Saved{Token: client.Secret("gses_x"), ExpiresAt: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := st.Load("http://h"); ok || err != nil {
		t.Fatalf("expired session loaded: %v %v", ok, err)
	}
}

func TestCorruptFileIsReplacedOnSave(t *testing.T) {
	dir := t.TempDir()
	st, _ := NewStore(dir)
	if err := os.MkdirAll(dir+"/gent", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(st.Path(), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Load("http://h"); err == nil {
		t.Fatal("corrupt file loaded without error")
	}
	if err := st.Save("http://h", Saved{Token: "gses_y"}); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := st.Load("http://h"); !ok || err != nil || got.Token != "gses_y" {
		t.Fatalf("after save: %+v %v %v", got, ok, err)
	}
}
