package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"gent/daemon/store"
	"gent/models"
)

// The errors of a database that is down are told apart from the errors of
// a request (TestDatabaseDownIs503 in daemon/api stops a real server).
func TestIsUnavailable(t *testing.T) {
	pg := func(code string) error { return fmt.Errorf("query: %w", &pgconn.PgError{Code: code}) }
	for _, c := range []struct {
		err  error
		want bool
	}{
		{pg("57P01"), true}, // admin_shutdown
		{pg("57P03"), true}, // cannot_connect_now
		{pg("53300"), true}, // too_many_connections
		{pg("08006"), true}, // connection_failure
		{fmt.Errorf("acquire: %w", context.DeadlineExceeded), true},
		{pg("23505"), false}, // unique_violation
		{pg("57014"), false}, // query_canceled (by the request itself)
		{pg("42P01"), false},
		{gorm.ErrRecordNotFound, false},
		{models.NotFound("inbox"), false},
		{errors.New("boom"), false},
		{nil, false},
	} {
		if got := store.IsUnavailable(c.err); got != c.want {
			t.Errorf("IsUnavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
