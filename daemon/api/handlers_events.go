package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"gent/daemon/auth"
	"gent/daemon/events"
	"gent/models"
)

// sseWriteTimeout bounds each write of a stream, on top of the heartbeat
// interval (the app's WriteTimeout would otherwise cut every stream after
// one minute).
const sseWriteTimeout = 60 * time.Second

// sseRetry is the reconnection delay suggested to EventSource clients.
const sseRetry = 3 * time.Second

func (a *API) orgEvents(c *fiber.Ctx) error {
	return a.events(c, events.Query{OrgID: principal(c).OrgID})
}

func (a *API) inboxEvents(c *fiber.Ctx) error {
	p := principal(c)
	inboxID := c.Params("inbox_id")
	if err := a.Events.CheckInbox(c.UserContext(), p.OrgID, inboxID); err != nil {
		return err
	}
	return a.events(c, events.Query{OrgID: p.OrgID, InboxID: inboxID})
}

// events answers a stream (Accept: text/event-stream) or a JSON page of
// the log after ?after=.
func (a *API) events(c *fiber.Ctx, q events.Query) error {
	types, err := events.ParseTypes("type", c.Query("type"))
	if err != nil {
		return err
	}
	q.Types = types
	if strings.Contains(c.Get(fiber.HeaderAccept), "text/event-stream") {
		return a.stream(c, q)
	}
	cursor, limit, err := page(c, idCursor(models.PrefixEvent))
	if err != nil {
		return err
	}
	cur := events.Cursor{}
	field, after := "after", c.Query("after")
	if after == "" {
		field, after = "cursor", cursor
	}
	if after != "" {
		if cur, err = a.Events.After(c.UserContext(), q, field, after); err != nil {
			return err
		}
	}
	p, err := a.Events.List(c.UserContext(), q, cur, limit)
	if err != nil {
		return err
	}
	next := ""
	if p.More && len(p.Events) > 0 {
		next = p.Events[len(p.Events)-1].ID
	}
	return list(c, p.Events, next)
}

// stream serves Server-Sent Events: every event after Last-Event-ID (or
// ?after=), else from now, then live until the client goes away, the
// credential stops working, or the daemon stops.
func (a *API) stream(c *fiber.Ctx, q events.Query) error {
	ctx := c.UserContext()
	var cur events.Cursor
	var err error
	switch {
	case c.Get("Last-Event-ID") != "":
		cur, err = a.Events.After(ctx, q, "Last-Event-ID", strings.TrimSpace(c.Get("Last-Event-ID")))
	case c.Query("after") != "":
		cur, err = a.Events.After(ctx, q, "after", c.Query("after"))
	default:
		cur, err = a.Events.Start(ctx)
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/event-stream; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderConnection, "keep-alive")
	c.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	// Taken now, and copied: the request context and its buffers (path,
	// headers, query) are recycled once the handler returns, while the
	// stream runs on.
	conn := c.Context().Conn()
	bearerValue := strings.Clone(bearer(c))
	who := principal(c)
	q = q.Clone()
	heartbeat := a.Config.Events.Heartbeat.D()
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		s := &sseWriter{w: w, deadline: func() { _ = conn.SetWriteDeadline(time.Now().Add(sseWriteTimeout + heartbeat)) },
			recheck: func() error { return a.recheck(bearerValue, who) }}
		if err := s.write("retry: " + strconv.Itoa(int(sseRetry.Milliseconds())) + "\n: connected\n\n"); err != nil {
			return
		}
		err := a.Events.Follow(context.Background(), q, cur, heartbeat, s)
		if err != nil && !errors.Is(err, events.ErrStopped) && !errors.Is(err, errStreamClosed) {
			a.Log.Debug("event stream ended", "err", err, "org_id", q.OrgID)
		}
	})
	return nil
}

// errStreamClosed ends a stream whose client is gone or whose credential
// stopped working.
var errStreamClosed = errors.New("stream closed")

// recheck authenticates the stream's credential again, so that a revoked
// token or ended session stops its stream within one heartbeat.
func (a *API) recheck(bearerValue string, who *auth.Principal) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := a.Auth.Authenticate(ctx, bearerValue)
	if err != nil {
		if models.ErrorCode(err) != "" {
			return errStreamClosed
		}
		a.Log.Warn("re-authenticate event stream", "err", err)
		return nil // a database hiccup does not end the stream
	}
	if p.ID() != who.ID() || p.OrgID != who.OrgID {
		return errStreamClosed
	}
	return nil
}

// sseWriter frames events for a stream.
type sseWriter struct {
	w        *bufio.Writer
	deadline func()
	recheck  func() error
}

func (s *sseWriter) write(text string) error {
	s.deadline()
	if _, err := s.w.WriteString(text); err != nil {
		return errStreamClosed
	}
	if err := s.w.Flush(); err != nil {
		return errStreamClosed
	}
	return nil
}

func (s *sseWriter) Events(evs []models.Event) error {
	var b strings.Builder
	for _, ev := range evs {
		data, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		b.WriteString("id: ")
		b.WriteString(ev.ID)
		b.WriteString("\nevent: ")
		b.WriteString(ev.Type)
		b.WriteString("\ndata: ")
		b.Write(data) // JSON has no raw newlines
		b.WriteString("\n\n")
	}
	return s.write(b.String())
}

func (s *sseWriter) Heartbeat() error {
	if err := s.recheck(); err != nil {
		_ = s.write(": credential no longer valid\n\n")
		return err
	}
	return s.write(": heartbeat\n\n")
}
