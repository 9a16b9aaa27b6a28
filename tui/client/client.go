// Package client is a typed client of Gent's public REST API. The TUI uses
// it and nothing else to talk to the daemon: no private back door.
//
// Methods return *APIError for error responses; it wraps the *models.Error
// of the body, so errors.As(err, &*models.Error) works too. Other errors
// (the daemon is unreachable, a timeout) are returned wrapped with the
// method and path. The credential never appears in an error or a log line.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"gent/models"
)

// Secret is a credential (session or agent token). It prints as
// "[redacted]" with every fmt verb and with slog; the raw value is only sent in the
// Authorization header and kept in the session file.
type Secret string

func (Secret) String() string               { return "[redacted]" }
func (Secret) LogValue() slog.Value         { return slog.StringValue("[redacted]") }
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// Reveal returns the raw value, for the Authorization header and the
// session file only.
func (s Secret) Reveal() string { return string(s) }

// APIError is an error response of the API: its HTTP status and the
// documented error body.
type APIError struct {
	Status int
	Err    *models.Error
}

func (e *APIError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Err.Error()) }

// Unwrap gives errors.As access to the *models.Error.
func (e *APIError) Unwrap() error { return e.Err }

// StatusOf returns the HTTP status of an API error, 0 for any other error.
func StatusOf(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// Client calls one Gent daemon. It is safe for concurrent use: the TUI runs
// each call in its own goroutine.
type Client struct {
	base *url.URL
	http *http.Client

	mu    sync.RWMutex
	token Secret

	// Event streams (Events).
	minBackoff, maxBackoff, idle time.Duration
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the http.Client (default: one with a 30 s timeout).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithToken sets the credential sent as a bearer token.
func WithToken(t Secret) Option { return func(c *Client) { c.token = t } }

// New returns a client of the daemon at server, e.g. http://127.0.0.1:8080.
func New(server string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil {
		return nil, fmt.Errorf("server URL %q: %w", server, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http://host:port or https://host", server)
	}
	c := &Client{base: u, http: &http.Client{Timeout: 30 * time.Second},
		minBackoff: DefaultStreamMinBackoff, maxBackoff: DefaultStreamMaxBackoff, idle: DefaultStreamIdle}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Server returns the daemon's base URL.
func (c *Client) Server() string { return c.base.String() }

// SetToken replaces the credential; "" signs the client out.
func (c *Client) SetToken(t Secret) {
	c.mu.Lock()
	c.token = t
	c.mu.Unlock()
}

// Token returns the credential in use.
func (c *Client) Token() Secret {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.token
}

// Do sends one request: body (if not nil) is JSON-encoded, a 2xx JSON
// answer is decoded into out (if not nil). Error responses become
// *APIError. Methods for new routes are written on top of Do.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	_, err := c.DoStatus(ctx, method, path, query, body, out)
	return err
}

// DoStatus is Do that also returns the status of a 2xx answer, for routes
// whose success status means something (201 created, 200 reused).
func (c *Client) DoStatus(ctx context.Context, method, path string, query url.Values, body, out any) (int, error) {
	status, data, err := c.send(ctx, method, path, query, body)
	if err != nil || out == nil || len(bytes.TrimSpace(data)) == 0 {
		return status, err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return status, fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return status, nil
}

// DoText sends a request whose 2xx answer is text (not JSON) and returns
// the text. Error responses are still the JSON envelope: *APIError.
func (c *Client) DoText(ctx context.Context, method, path string, query url.Values) (string, error) {
	_, data, err := c.send(ctx, method, path, query, nil)
	return string(data), err
}

// send makes the request and returns the status and body of a 2xx answer.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body any) (int, []byte, error) {
	req, err := c.newRequest(ctx, method, path, query, body)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, stripURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, nil, apiError(resp, data)
	}
	return resp.StatusCode, data, nil
}

func (c *Client) newRequest(ctx context.Context, method, path string, query url.Values, body any) (*http.Request, error) {
	u := *c.base
	u.Path = strings.TrimRight(c.base.Path, "/") + path
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "genttui")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if t := c.Token(); t != "" {
		req.Header.Set("Authorization", "Bearer "+t.Reveal())
	}
	return req, nil
}

// apiError builds the error of a non-2xx answer. A body that is not the
// documented envelope (a proxy's error page) still yields an *APIError.
func apiError(resp *http.Response, data []byte) error {
	var b models.ErrorBody
	if json.Unmarshal(data, &b) != nil || b.Error == nil || b.Error.Code == "" {
		b.Error = &models.Error{Code: codeForStatus(resp.StatusCode), Message: fmt.Sprintf("the server answered %s", resp.Status)}
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			b.Error.RetryAfter = time.Duration(n) * time.Second
		}
	}
	return &APIError{Status: resp.StatusCode, Err: b.Error}
}

func codeForStatus(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return models.CodeUnauthorized
	case status == http.StatusForbidden:
		return models.CodeForbidden
	case status == http.StatusNotFound:
		return models.CodeNotFound
	case status == http.StatusTooManyRequests:
		return models.CodeRateLimited
	case status == http.StatusServiceUnavailable, status == http.StatusBadGateway, status == http.StatusGatewayTimeout:
		return models.CodeUnavailable
	case status >= 500:
		return models.CodeInternal
	}
	return models.CodeBadRequest
}

// stripURL drops the *url.Error wrapper, whose text repeats the URL; the
// caller already names the method and path.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Page selects one page of a list.
type Page struct {
	Cursor string
	Limit  int
}

func (p Page) values() url.Values {
	q := url.Values{}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	return q
}
