package common

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"gent/models"
	"gent/tui/client"
)

// Describe turns an error of a call into one sentence for the status line
// or a form.
func Describe(err error) string {
	var me *models.Error
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &me):
		msg := sentence(me.Message)
		if me.Code == models.CodeRateLimited && me.RetryAfter > 0 {
			msg += fmt.Sprintf(" Try again in %s.", me.RetryAfter.Round(time.Second))
		}
		return msg
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("The daemon did not answer within %s.", CallTimeout)
	case errors.As(err, &ne):
		return "Cannot reach the daemon: " + innermost(err) + "."
	}
	return sentence(err.Error())
}

// Code is the API error code of err ("" when it is not an API error).
func Code(err error) string { return models.ErrorCode(err) }

// Field is the request field an API error names ("" if none).
func Field(err error) string {
	var me *models.Error
	if errors.As(err, &me) {
		return me.Field
	}
	return ""
}

// Unauthorized reports whether err says the credential is not (or no
// longer) valid.
func Unauthorized(err error) bool { return client.StatusOf(err) == 401 }

func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

// innermost is the text of the deepest wrapped error ("connection refused").
func innermost(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}
