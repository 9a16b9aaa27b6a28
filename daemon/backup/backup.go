// Package backup writes and restores gentd backups: one gzip-compressed
// tar archive holding a manifest, a pg_dump custom-format dump of the
// database, and the files under data_dir that the database needs (the
// master key that decrypts DKIM keys and webhook secrets, the self-signed
// STARTTLS certificate).
package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"gent/daemon/config"
	"gent/daemon/secrets"
	"gent/daemon/smtpin"
	"gent/daemon/store"
)

// Format names the archive layout; restore refuses others.
const Format = "gent-backup/1"

// Archive members.
const (
	manifestName = "manifest.json"
	dumpName     = "database.dump"
	dataPrefix   = "data_dir/"
)

// Manifest describes a backup.
type Manifest struct {
	Format string `json:"format"`
	// GentVersion is the gentd build that wrote it (module version and
	// VCS revision when known).
	GentVersion string `json:"gent_version"`
	// GooseVersion is the database's last applied migration.
	GooseVersion    int64     `json:"goose_version"`
	PostgresVersion string    `json:"postgres_version"`
	CreatedAt       time.Time `json:"created_at"`
	// Database is where the dump came from: "embedded" or "database.url".
	Database string `json:"database"`
	// Files are the data_dir files in the archive (relative paths).
	Files []string `json:"files"`
	// MasterKey is "file" (data_dir/master.key is in the archive) or
	// "config" (security.master_key was set: it is not in the archive).
	MasterKey string `json:"master_key"`
}

// dataFiles are the files under data_dir that belong with the database.
// postgres.password, gentd.lock and setup-code are not: a restored
// cluster gets a new password, and the daemon makes the others.
func dataFiles(cfg config.Config) []string {
	var files []string
	if cfg.Security.MasterKey == "" {
		files = append(files, secrets.KeyFile)
	}
	cert, key := smtpin.SelfSignedPaths("")
	return append(files, filepath.ToSlash(cert), filepath.ToSlash(key))
}

// Create writes a backup to file (mode 0600, through a temporary file
// renamed at the end) and returns its manifest.
func Create(ctx context.Context, cfg config.Config, file string, log *slog.Logger) (*Manifest, error) {
	// The dump is staged next to FILE, on the disk chosen for the backup.
	tmpDir, err := os.MkdirTemp(filepath.Dir(file), ".gent-backup-")
	if err != nil {
		return nil, fmt.Errorf("create temporary directory: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	dump := filepath.Join(tmpDir, dumpName)
	info, err := store.Dump(ctx, cfg, dump, log)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Format: Format, GentVersion: gentVersion(), GooseVersion: info.GooseVersion,
		PostgresVersion: info.ServerVersion, CreatedAt: time.Now().UTC().Truncate(time.Second), Database: info.Source,
		MasterKey: "file"}
	if cfg.Security.MasterKey != "" {
		m.MasterKey = "config"
	}
	type member struct {
		name string
		data []byte
		path string
	}
	var members []member
	for _, rel := range dataFiles(cfg) {
		b, err := os.ReadFile(filepath.Join(cfg.DataDir, filepath.FromSlash(rel)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", rel, err)
		}
		m.Files = append(m.Files, rel)
		members = append(members, member{name: dataPrefix + rel, data: b})
	}
	if m.MasterKey == "file" && !contains(m.Files, secrets.KeyFile) {
		return nil, fmt.Errorf("no master key: %s is missing and security.master_key is not set; "+
			"the backup could not decrypt DKIM keys or webhook secrets", filepath.Join(cfg.DataDir, secrets.KeyFile))
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	members = append([]member{{name: manifestName, data: append(mj, '\n')}, {name: dumpName, path: dump}}, members...)

	out, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", file, err)
	}
	defer os.Remove(out.Name())
	defer out.Close()
	if err := out.Chmod(0o600); err != nil {
		return nil, fmt.Errorf("create %s: %w", file, err)
	}
	gz := gzip.NewWriter(out)
	tw := tar.NewWriter(gz)
	for _, mb := range members {
		if err := addMember(tw, mb.name, mb.data, mb.path, m.CreatedAt); err != nil {
			return nil, fmt.Errorf("write %s: %w", file, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write %s: %w", file, err)
	}
	if err := gz.Close(); err != nil {
		return nil, fmt.Errorf("write %s: %w", file, err)
	}
	if err := out.Sync(); err != nil {
		return nil, fmt.Errorf("write %s: %w", file, err)
	}
	if err := out.Close(); err != nil {
		return nil, fmt.Errorf("write %s: %w", file, err)
	}
	if err := os.Rename(out.Name(), file); err != nil {
		return nil, fmt.Errorf("write %s: %w", file, err)
	}
	return m, nil
}

func addMember(tw *tar.Writer, name string, data []byte, fromFile string, mtime time.Time) error {
	var r io.Reader = bytes.NewReader(data)
	size := int64(len(data))
	if fromFile != "" {
		f, err := os.Open(fromFile)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		r, size = f, st.Size()
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: mtime, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := io.Copy(tw, r)
	return err
}

// Restore restores a backup into an empty target: data_dir (with the
// embedded cluster) or the database at database.url. A non-empty target
// is refused before anything is written.
func Restore(ctx context.Context, cfg config.Config, file string, log *slog.Logger) (*Manifest, error) {
	tmpDir, err := os.MkdirTemp("", "gent-restore-")
	if err != nil {
		return nil, fmt.Errorf("create temporary directory: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	dump := filepath.Join(tmpDir, dumpName)
	m, files, err := readArchive(file, dump)
	if err != nil {
		return nil, err
	}
	if latest := store.LatestMigration(); m.GooseVersion > latest {
		return nil, fmt.Errorf("%s comes from a newer gentd (database migration %d; this gentd knows up to %d): "+
			"restore it with that version or later", file, m.GooseVersion, latest)
	}
	if m.MasterKey == "config" && cfg.Security.MasterKey == "" {
		return nil, fmt.Errorf("%s was made with security.master_key set, and the key is not in it: "+
			"set the same key (%s) before restoring", file, config.EnvName("security.master_key"))
	}

	if b, ok := files[secrets.KeyFile]; ok && cfg.Security.MasterKey != "" {
		inFile, err1 := secrets.ParseKey(string(b))
		inCfg, err2 := secrets.ParseKey(cfg.Security.MasterKey)
		if err1 != nil || err2 != nil || !bytes.Equal(inFile, inCfg) {
			return nil, fmt.Errorf("security.master_key is set to another key than the one in %s, which the database needs: "+
				"unset it (the restored %s is used) or set it to that key", file, secrets.KeyFile)
		}
	}

	// The target must be empty.
	if cfg.Database.URL == "" {
		entries, err := os.ReadDir(cfg.DataDir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read data_dir: %w", err)
		case len(entries) > 0:
			names := make([]string, 0, len(entries))
			for _, e := range entries {
				names = append(names, e.Name())
			}
			return nil, fmt.Errorf("data_dir %s is not empty (it holds %s): restore only into an empty data_dir "+
				"(move the old one aside, or set %s to a new directory)", cfg.DataDir, strings.Join(names, ", "), config.EnvName("data_dir"))
		}
	} else {
		for rel, b := range files {
			old, err := os.ReadFile(filepath.Join(cfg.DataDir, filepath.FromSlash(rel)))
			if err == nil && !bytes.Equal(old, b) {
				return nil, fmt.Errorf("%s already exists with other contents: restore only into an empty data_dir",
					filepath.Join(cfg.DataDir, filepath.FromSlash(rel)))
			}
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data_dir: %w", err)
	}
	if err := store.Restore(ctx, cfg, dump, log); err != nil {
		if cfg.Database.URL == "" {
			cleanDir(cfg.DataDir) // it was empty: leave it so, for another try
		}
		return nil, err
	}
	for rel, b := range files {
		p := filepath.Join(cfg.DataDir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, fmt.Errorf("restore %s: %w", rel, err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return nil, fmt.Errorf("restore %s: %w", rel, err)
		}
	}
	return m, nil
}

// cleanDir removes everything in dir (which the failed restore filled).
func cleanDir(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// readArchive reads a backup: its manifest, the dump (written to dump),
// and the data_dir files.
func readArchive(file, dump string) (*Manifest, map[string][]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s is not a gentd backup: %w", file, err)
	}
	tr := tar.NewReader(gz)
	var m *Manifest
	files := map[string][]byte{}
	haveDump := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", file, err)
		}
		switch {
		case h.Name == manifestName:
			m = &Manifest{}
			if err := json.NewDecoder(tr).Decode(m); err != nil {
				return nil, nil, fmt.Errorf("read %s: manifest: %w", file, err)
			}
			if m.Format != Format {
				return nil, nil, fmt.Errorf("%s: unknown backup format %q (want %s)", file, m.Format, Format)
			}
		case h.Name == dumpName:
			out, err := os.OpenFile(dump, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return nil, nil, err
			}
			if _, err := io.Copy(out, tr); err != nil {
				out.Close()
				return nil, nil, fmt.Errorf("read %s: %w", file, err)
			}
			if err := out.Close(); err != nil {
				return nil, nil, err
			}
			haveDump = true
		case strings.HasPrefix(h.Name, dataPrefix):
			rel := path.Clean(strings.TrimPrefix(h.Name, dataPrefix))
			if rel == "." || strings.HasPrefix(rel, "../") || path.IsAbs(rel) || h.Typeflag != tar.TypeReg {
				return nil, nil, fmt.Errorf("%s: refusing archive member %q", file, h.Name)
			}
			b, err := io.ReadAll(io.LimitReader(tr, 1<<20))
			if err != nil {
				return nil, nil, fmt.Errorf("read %s: %w", file, err)
			}
			files[rel] = b
		}
	}
	if m == nil || !haveDump {
		return nil, nil, fmt.Errorf("%s is not a gentd backup (no %s or %s)", file, manifestName, dumpName)
	}
	return m, files, nil
}

func gentVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value
		}
	}
	return v
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
