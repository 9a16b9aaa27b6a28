package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"gent/daemon/backup"
	"gent/daemon/config"
)

// backupCommand is `gentd backup FILE`: a consistent pg_dump of the
// database plus the data_dir files it needs (the master key), in one
// archive written with mode 0600.
func backupCommand(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	file, err := fileArg("backup", args, stdout)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelWarn}))
	m, err := backup.Create(ctx, cfg, file, log)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "backup written to %s (%s database, PostgreSQL %s, migration %d, files: %v)\n",
		file, m.Database, m.PostgresVersion, m.GooseVersion, m.Files)
	fmt.Fprintf(stdout, "WARNING: %s holds secrets: every stored message, password and token hashes, and the master key "+
		"that decrypts DKIM private keys and webhook secrets. Keep it as safe as the server itself.\n", file)
	if m.MasterKey == "config" {
		fmt.Fprintf(stdout, "NOTE: security.master_key is set in the configuration and is NOT in the backup; "+
			"keep it with the backup: a restore needs it.\n")
	}
	return nil
}

// restoreCommand is `gentd restore FILE`: into an empty data_dir (a new
// embedded cluster) or the empty database at database.url.
func restoreCommand(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	file, err := fileArg("restore", args, stdout)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelWarn}))
	m, err := backup.Restore(ctx, cfg, file, log)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	target := "data_dir " + cfg.DataDir
	if cfg.Database.URL != "" {
		target = "database.url (files in data_dir " + cfg.DataDir + ")"
	}
	fmt.Fprintf(stdout, "restored %s (made %s by gentd %s, migration %d) into %s; start gentd with this configuration\n",
		file, m.CreatedAt.Format("2006-01-02 15:04:05Z"), m.GentVersion, m.GooseVersion, target)
	return nil
}

func fileArg(cmd string, args []string, stdout io.Writer) (string, error) {
	fs := flag.NewFlagSet("gentd "+cmd, flag.ContinueOnError)
	fs.SetOutput(stdout)
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return "", errors.New("usage: gentd " + cmd + " FILE")
	}
	return fs.Arg(0), nil
}
