package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"gent/models"
)

// Stream timing defaults: the first reconnect waits about MinBackoff, each
// failed attempt doubles the wait up to MaxBackoff (short: the stream is
// back at most two seconds after the daemon is), and a connection that
// carries nothing (not even the daemon's heartbeat, every 15 s by
// default) for Idle is taken for dead and replaced.
const (
	DefaultStreamMinBackoff = 500 * time.Millisecond
	DefaultStreamMaxBackoff = 2 * time.Second
	DefaultStreamIdle       = time.Minute
)

// maxEventLine bounds one line of the stream (an event's JSON).
const maxEventLine = 1 << 20

// WithStreamTiming sets how Events reconnects (see the defaults).
func WithStreamTiming(minBackoff, maxBackoff, idle time.Duration) Option {
	return func(c *Client) { c.minBackoff, c.maxBackoff, c.idle = minBackoff, maxBackoff, idle }
}

// StreamUpdate is one item of an event stream: an event, or news about
// the connection.
type StreamUpdate struct {
	// Event is the next event of the organization.
	Event *models.Event

	// Connected: the stream is (again) connected. Missed is set when it
	// reconnected without a position to resume from (no event had been
	// received yet, or the daemon no longer knew the last one): events of
	// the outage may be missing, so what is shown should be reloaded.
	Connected bool
	Missed    bool

	// Err is why the connection was lost; Retry is when the next attempt
	// is made. With Final, the stream has ended for good (the credential
	// was refused): the channel closes after this update.
	Err   error
	Retry time.Duration
	Final bool
}

// Events follows the organization's event log (GET /v1/events as
// Server-Sent Events) and delivers each event on the returned channel, in
// log order. After lastID when it is set, else from now. When the
// connection fails it reconnects with backoff and resumes after the last
// event it delivered (Last-Event-ID), so nothing is skipped. The channel
// is closed when ctx ends, or after a Final update when the daemon
// refuses the credential (401, 403).
func (c *Client) Events(ctx context.Context, lastID string) <-chan StreamUpdate {
	ch := make(chan StreamUpdate, 16)
	go c.follow(ctx, lastID, ch)
	return ch
}

func (c *Client) follow(ctx context.Context, lastID string, ch chan<- StreamUpdate) {
	defer close(ch)
	send := func(u StreamUpdate) bool {
		select {
		case ch <- u:
			return true
		case <-ctx.Done():
			return false
		}
	}
	backoff := c.minBackoff
	first := true
	for {
		connected, err := c.streamOnce(ctx, &lastID, first, send)
		if ctx.Err() != nil {
			return
		}
		if connected {
			first, backoff = false, c.minBackoff
		}
		switch s := StatusOf(err); {
		case s == http.StatusUnauthorized || s == http.StatusForbidden:
			send(StreamUpdate{Err: err, Final: true})
			return
		case s == http.StatusUnprocessableEntity && lastID != "":
			// The daemon does not know the last event (another
			// database, a log cut short): start again from now.
			lastID = ""
			first = false
			continue
		}
		wait := backoff/2 + rand.N(backoff/2+1) // jitter: replicas' clients do not return in step
		if !send(StreamUpdate{Err: err, Retry: wait}) {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, c.maxBackoff)
	}
}

// Why a connection of a stream ended, besides network errors.
var (
	// ErrStreamIdle: the connection carried nothing, not even a
	// heartbeat, for the idle time.
	ErrStreamIdle = errors.New("the event stream went silent")
	// ErrStreamClosed: the daemon ended the stream (it is stopping, or
	// the credential stopped working).
	ErrStreamClosed = errors.New("the daemon closed the event stream")
)

// streamOnce makes one connection and reads it until it fails. connected
// is true once the daemon accepted the stream.
func (c *Client) streamOnce(ctx context.Context, lastID *string, first bool, send func(StreamUpdate) bool) (connected bool, err error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var idle atomic.Bool
	timer := time.AfterFunc(c.idle, func() { idle.Store(true); cancel() })
	defer timer.Stop()

	req, err := c.newRequest(cctx, http.MethodGet, "/v1/events", nil, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resuming := *lastID != ""
	if resuming {
		req.Header.Set("Last-Event-ID", *lastID)
	}
	resp, err := c.streamHTTP().Do(req)
	if err != nil {
		if idle.Load() {
			return false, fmt.Errorf("GET /v1/events: %w", ErrStreamIdle)
		}
		return false, fmt.Errorf("GET /v1/events: %w", stripURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		return false, apiError(resp, data)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return false, fmt.Errorf("GET /v1/events: the server answered %q, not an event stream", ct)
	}
	if !send(StreamUpdate{Connected: true, Missed: !first && !resuming}) {
		return true, ctx.Err()
	}
	timer.Reset(c.idle)

	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxEventLine)
	var id, data string
	var hasData bool
	for sc.Scan() {
		timer.Reset(c.idle)
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" { // dispatch
			if id != "" {
				*lastID = id
			}
			if hasData {
				var ev models.Event
				// An event that is not an Event is skipped (its id
				// is kept): it cannot be shown, and asking again
				// would only bring it back.
				if json.Unmarshal([]byte(data), &ev) == nil && ev.ID != "" {
					if !send(StreamUpdate{Event: &ev}) {
						return true, ctx.Err()
					}
				}
			}
			id, data, hasData = "", "", false
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue // a comment: the heartbeat, or "connected"
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			id = value
		case "data":
			if hasData {
				data += "\n"
			}
			data, hasData = data+value, true
		}
	}
	err = sc.Err()
	switch {
	case idle.Load():
		err = ErrStreamIdle
	case err == nil:
		err = ErrStreamClosed
	}
	return true, fmt.Errorf("GET /v1/events: %w", stripURL(err))
}

// streamHTTP is the HTTP client for streams: the API client's transport
// without its overall timeout, which would cut every stream; the idle
// timer stands in for it.
func (c *Client) streamHTTP() *http.Client {
	return &http.Client{Transport: c.http.Transport, CheckRedirect: c.http.CheckRedirect, Jar: c.http.Jar}
}
