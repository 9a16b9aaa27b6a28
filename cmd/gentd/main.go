// Command gentd is the Gent daemon: REST API, inbound SMTP, delivery.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"gent/daemon/config"
	"gent/daemon/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// SIGHUP reloads certificates once the daemon serves (server.Serve
	// takes it over); until then it must not end the process.
	signal.Ignore(syscall.SIGHUP)
	if err := run(ctx, os.Args, config.Getenv(os.LookupEnv), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gentd:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gentd", flag.ContinueOnError)
	fs.SetOutput(stdout)
	cfgPath := fs.String("config", getenv("GENT_CONFIG"), "TOML configuration file (env GENT_CONFIG)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath, getenv)
	if err != nil {
		return err
	}
	log := server.NewLogger(cfg, stdout)
	switch cmd := fs.Arg(0); cmd {
	case "", "serve":
		return server.Run(ctx, cfg, log, stdout)
	case "check-config":
		fmt.Fprintln(stdout, "configuration OK")
		return nil
	case "usage":
		return usageCommand(ctx, cfg, fs.Args()[1:], stdout)
	case "backup":
		return backupCommand(ctx, cfg, fs.Args()[1:], stdout)
	case "restore":
		return restoreCommand(ctx, cfg, fs.Args()[1:], stdout)
	case "mcp":
		return mcpCommand(ctx, fs.Args()[1:], getenv, os.Stdin, stdout)
	case "doctor":
		return doctorCommand(ctx, cfg, *cfgPath, stdout)
	default:
		return fmt.Errorf("unknown command %q (want serve, check-config, usage verify, doctor, backup, restore or mcp)", cmd)
	}
}
