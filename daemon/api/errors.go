package api

import (
	"errors"
	"log/slog"
	"math"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"gent/daemon/store"
	"gent/models"
)

// statusOf is the one table from error code to HTTP status.
var statusOf = map[string]int{
	models.CodeBadRequest:         fiber.StatusBadRequest,
	models.CodeMalformedBody:      fiber.StatusBadRequest,
	models.CodeUnauthorized:       fiber.StatusUnauthorized,
	models.CodeForbidden:          fiber.StatusForbidden,
	models.CodeInsufficientScope:  fiber.StatusForbidden,
	models.CodeNotFound:           fiber.StatusNotFound,
	models.CodeConflict:           fiber.StatusConflict,
	models.CodeStorageCapExceeded: fiber.StatusConflict,
	models.CodeTooLarge:           fiber.StatusRequestEntityTooLarge,
	models.CodeValidation:         fiber.StatusUnprocessableEntity,
	models.CodeIdempotencyReused:  fiber.StatusUnprocessableEntity,
	models.CodeRateLimited:        fiber.StatusTooManyRequests,
	models.CodeInternal:           fiber.StatusInternalServerError,
	models.CodeUnavailable:        fiber.StatusServiceUnavailable,
	models.CodeSandboxDisabled:    fiber.StatusConflict,
	models.CodeLastOwner:          fiber.StatusConflict,
	models.CodeUserDisabled:       fiber.StatusForbidden,
	models.CodeRecipientBlocked:   fiber.StatusUnprocessableEntity,
	models.CodeSendBudgetExceeded: fiber.StatusTooManyRequests,
	models.CodeSendingPaused:      fiber.StatusLocked,
	models.CodeLoopGuard:          fiber.StatusUnprocessableEntity,
}

// fiberCodes maps Fiber's own errors (unknown route, body too large...).
var fiberCodes = map[int]string{
	fiber.StatusBadRequest:            models.CodeBadRequest,
	fiber.StatusNotFound:              models.CodeNotFound,
	fiber.StatusMethodNotAllowed:      models.CodeNotFound,
	fiber.StatusRequestEntityTooLarge: models.CodeTooLarge,
	fiber.StatusUnsupportedMediaType:  models.CodeMalformedBody,
	fiber.StatusTooManyRequests:       models.CodeRateLimited,
	fiber.StatusServiceUnavailable:    models.CodeUnavailable,
}

// unavailableRetryAfter is the Retry-After of a 503 unavailable.
const unavailableRetryAfter = 5 * time.Second

// writeError renders err in the documented format. Errors that are not
// *models.Error are logged and shown as "internal error".
func writeError(c *fiber.Ctx, log *slog.Logger, err error) {
	var me *models.Error
	var fe *fiber.Error
	switch {
	case errors.As(err, &me):
	case errors.As(err, &fe):
		code, ok := fiberCodes[fe.Code]
		if !ok {
			code = models.CodeBadRequest
		}
		msg := fe.Message
		switch fe.Code {
		case fiber.StatusNotFound, fiber.StatusMethodNotAllowed:
			msg = "no such route: " + c.Method() + " " + c.Path()
		case fiber.StatusRequestEntityTooLarge:
			msg = "request body is too large"
		}
		me = &models.Error{Code: code, Message: msg}
	case store.IsUnavailable(err):
		// The database is stopped, starting or unreachable: the request
		// may be retried, as /readyz says.
		log.Warn("database unavailable", "err", err, "method", c.Method(), "path", c.Path(),
			"request_id", c.Locals("requestid"))
		me = &models.Error{Code: models.CodeUnavailable, Message: "the database is unavailable; retry shortly", RetryAfter: unavailableRetryAfter}
	default:
		log.Error("internal error", "err", err, "method", c.Method(), "path", c.Path(),
			"request_id", c.Locals("requestid"))
		me = &models.Error{Code: models.CodeInternal, Message: "internal error"}
	}
	status, ok := statusOf[me.Code]
	if !ok {
		status = fiber.StatusInternalServerError
	}
	if me.RetryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(me.RetryAfter.Seconds()))))
	}
	_ = c.Status(status).JSON(models.ErrorBody{Error: me})
}
