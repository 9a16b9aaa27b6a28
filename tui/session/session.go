// Package session keeps the TUI's sign-in between runs: one session token
// per server URL in <config dir>/gent/session.json, readable by the user
// only (0600, in a 0700 directory).
package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gent/tui/client"
)

// Saved is one server's session.
type Saved struct {
	Token     client.Secret `json:"token"`
	ExpiresAt time.Time     `json:"expires_at"`
	Email     string        `json:"email"`
}

// Store reads and writes the session file.
type Store struct {
	path string
}

// NewStore keeps sessions under configDir (os.UserConfigDir() when empty).
func NewStore(configDir string) (*Store, error) {
	if configDir == "" {
		d, err := os.UserConfigDir()
		if err != nil {
			return nil, fmt.Errorf("find the config directory: %w", err)
		}
		configDir = d
	}
	return &Store{path: filepath.Join(configDir, "gent", "session.json")}, nil
}

// Path is the session file.
func (s *Store) Path() string { return s.path }

// Load returns the saved session for server; ok is false when there is
// none or it has expired.
func (s *Store) Load(server string) (Saved, bool, error) {
	all, err := s.read()
	if err != nil {
		return Saved{}, false, err
	}
	sv, ok := all[key(server)]
	if !ok || sv.Token == "" || (!sv.ExpiresAt.IsZero() && time.Now().After(sv.ExpiresAt)) {
		return Saved{}, false, nil
	}
	return sv, true, nil
}

// Save records the session for server, keeping other servers' sessions.
func (s *Store) Save(server string, sv Saved) error {
	all, err := s.read()
	if err != nil {
		all = map[string]Saved{} // an unreadable file is replaced
	}
	all[key(server)] = sv
	return s.write(all)
}

// Clear forgets the session for server.
func (s *Store) Clear(server string) error {
	all, err := s.read()
	if err != nil {
		return err
	}
	if _, ok := all[key(server)]; !ok {
		return nil
	}
	delete(all, key(server))
	return s.write(all)
}

func key(server string) string { return strings.TrimRight(server, "/") }

func (s *Store) read() (map[string]Saved, error) {
	all := map[string]Saved{}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return all, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.path, err)
	}
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("read %s: %w", s.path, err)
	}
	return all, nil
}

// write replaces the file atomically, 0600 from the start.
func (s *Store) write(all map[string]Saved) error {
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return fmt.Errorf("encode sessions: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".session-*.json")
	if err != nil {
		return fmt.Errorf("write session: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write session: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write session: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write session: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("write session: %w", err)
	}
	return nil
}
