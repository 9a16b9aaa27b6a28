package models

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
)

// arrayEscaper escapes an element of an array literal (safe for concurrent
// use; built once: building one per element showed in profiles).
var arrayEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// StringArray maps a Postgres text[] column.
type StringArray []string

// Value encodes the array literal.
func (a StringArray) Value() (driver.Value, error) {
	if a == nil {
		return "{}", nil
	}
	parts := make([]string, len(a))
	for i, s := range a {
		parts[i] = `"` + arrayEscaper.Replace(s) + `"`
	}
	return "{" + strings.Join(parts, ",") + "}", nil
}

// Scan decodes a text[] value.
func (a *StringArray) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case nil:
		*a = StringArray{}
		return nil
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("scan text[]: unexpected %T", src)
	}
	out, err := parseArray(s)
	if err != nil {
		return err
	}
	*a = out
	return nil
}

func parseArray(s string) ([]string, error) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, fmt.Errorf("scan text[]: bad literal %q", s)
	}
	s = s[1 : len(s)-1]
	out := []string{}
	for i := 0; i < len(s); {
		var b strings.Builder
		if s[i] == '"' {
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
				i++
			}
			i++ // closing quote
		} else {
			for i < len(s) && s[i] != ',' {
				b.WriteByte(s[i])
				i++
			}
		}
		out = append(out, b.String())
		if i < len(s) && s[i] == ',' {
			i++
		}
	}
	return out, nil
}

// JSONMap is a map stored as jsonb.
type JSONMap map[string]any

// Value encodes the map as JSON.
func (m JSONMap) Value() (driver.Value, error) {
	b, err := json.Marshal(map[string]any(m))
	return string(b), err
}
