package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// IsUnavailable reports whether err means that the database could not be
// reached or is not serving (stopped, starting, shutting down, out of
// connections), as opposed to a failure of the request itself: the caller
// may retry later. The API answers such errors 503 unavailable with
// Retry-After (see docs/api.md).
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true // refused, unreachable, or the server refused the login (starting, shutting down)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57P01", // admin_shutdown: the server is stopping
			"57P02", // crash_shutdown
			"57P03", // cannot_connect_now: starting up or in recovery
			"53300": // too_many_connections
			return true
		}
		return strings.HasPrefix(pe.Code, "08") // connection_exception
	}
	switch {
	case errors.Is(err, sql.ErrConnDone), errors.Is(err, driver.ErrBadConn):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return true // the server closed the connection under a query
	case errors.Is(err, context.DeadlineExceeded):
		return true // no connection (or no answer) in time
	}
	// pgx reports a connection that died while in use (server gone,
	// network cut) as a safe-to-retry or timeout error of its own.
	if pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return true
	}
	return false
}
