package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"gent/daemon/mail"
	"gent/models"
)

// decode reads the JSON body strictly into a request type: unknown fields
// and wrong types are refused, naming the field.
func decode(c *fiber.Ctx, v any) error {
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 {
		return models.Errorf(models.CodeMalformedBody, "a JSON request body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return models.Errorf(models.CodeMalformedBody, "unexpected data after the JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return models.Errorf(models.CodeMalformedBody, "malformed JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return models.Errorf(models.CodeMalformedBody, "the request body must be a JSON object")
		}
		return models.Invalid(field, "%s must be %s, not %s", field, jsonType(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return models.Invalid(name, "unknown field %q", name)
	case errors.Is(err, errors.New("EOF")) || err.Error() == "unexpected EOF" || err.Error() == "EOF":
		return models.Errorf(models.CodeMalformedBody, "the JSON body ends too early")
	}
	return models.Errorf(models.CodeMalformedBody, "malformed JSON: %s", err.Error())
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "bool":
		return "a boolean"
	default:
		return "a number"
	}
}

// cursorKind tells whether a string is a position in one list: the id (or
// key) its service pages by. page refuses any other cursor with a 422, so a
// cursor that is not one of the list's never reads as an empty page or as
// the first one.
type cursorKind func(string) bool

// idCursor is the kind of the lists paged by ids with prefix.
func idCursor(prefix string) cursorKind {
	return func(s string) bool { return models.IsID(s, prefix) }
}

// addressCursor is the kind of the lists paged by address (suppressions).
func addressCursor(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && len(s) <= 320 && !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f })
}

// seqCursor is the kind of the lists paged by a row sequence number
// (a message's lifecycle).
func seqCursor(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n > 0 && strconv.FormatInt(n, 10) == s
}

// threadCursor is the kind of the thread list (last activity and id).
func threadCursor(s string) bool { return mail.ValidThreadCursor(s) }

// page reads cursor and limit (default 50, at most 200); the cursor must be
// of the list's kind.
func page(c *fiber.Ctx, kind cursorKind) (string, int, error) {
	limit := 0
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return "", 0, models.Invalid("limit", "limit must be an integer from 1 to 200")
		}
		limit = n
	}
	cursor := c.Query("cursor")
	limit, err := models.Page(limit, cursor, kind)
	return cursor, limit, err
}

func list[T any](c *fiber.Ctx, data []T, next string) error {
	if data == nil {
		data = []T{}
	}
	return c.JSON(models.List[T]{Data: data, NextCursor: next})
}
