// Package models holds the data shared by the daemon and the TUI: database
// rows, API request and response shapes, and the one error vocabulary.
package models

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. The API maps each to an HTTP status in one table
// (daemon/api/errors.go); the SMTP server maps them to replies.
const (
	CodeBadRequest         = "bad_request"
	CodeMalformedBody      = "malformed_body"
	CodeUnauthorized       = "unauthorized"
	CodeForbidden          = "forbidden"
	CodeInsufficientScope  = "insufficient_scope"
	CodeNotFound           = "not_found"
	CodeConflict           = "conflict"
	CodeStorageCapExceeded = "storage_cap_exceeded"
	CodeTooLarge           = "payload_too_large"
	CodeValidation         = "validation_failed"
	CodeIdempotencyReused  = "idempotency_key_reused"
	CodeRateLimited        = "rate_limited"
	CodeInternal           = "internal_error"
	CodeUnavailable        = "unavailable"
	// CodeSandboxDisabled (409): the inbox is on a sandbox domain that an
	// admin disabled (or sandbox.domain is empty); it sends nothing.
	CodeSandboxDisabled = "sandbox_disabled"
	// CodeLastOwner (409): the change would leave the organization without
	// an enabled owner.
	CodeLastOwner = "last_owner"
	// CodeUserDisabled (403): the right password of a disabled user.
	CodeUserDisabled = "user_disabled"
)

// Error is the error every service returns for a condition a client can act
// on. Anything else is an internal error and is shown as "internal error".
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// RetryAfter is sent as the Retry-After header with 429 responses.
	RetryAfter time.Duration `json:"-"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return e.Code + ": " + e.Message
}

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid is a validation_failed error naming the offending field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeValidation, Message: fmt.Sprintf(format, args...), Field: field}
}

// NotFound is the 404 used for missing objects and for objects of another
// organization or inbox alike.
func NotFound(what string) *Error {
	return &Error{Code: CodeNotFound, Message: what + " not found"}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, else "".
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// ErrorBody is the JSON envelope of every API error.
type ErrorBody struct {
	Error *Error `json:"error"`
}

// Sending policy refusals (docs/policy.md).
const (
	CodeRecipientBlocked   = "recipient_blocked"
	CodeSendBudgetExceeded = "send_budget_exceeded"
	CodeSendingPaused      = "sending_paused"
	CodeLoopGuard          = "loop_guard"
)
