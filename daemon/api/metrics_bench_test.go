package api_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/valyala/fasthttp"

	"gent/daemon/api"
	"gent/daemon/config"
	"gent/daemon/metrics"
)

// BenchmarkAPIMetrics is the per-request cost of the metrics in the access
// middleware: the same request (GET /healthz, no database) through the
// whole Fiber app without metrics and with them; the difference of the two
// ns/op is the overhead (make bench prints both).
func BenchmarkAPIMetrics(b *testing.B) {
	for _, bc := range []struct {
		name string
		m    *metrics.Metrics
	}{{"off", nil}, {"on", metrics.New()}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := config.Default()
			cfg.HTTP.RateLimitPerMinute = 0
			app := api.New(api.Deps{Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: bc.m})
			h := app.Handler()
			var ctx fasthttp.RequestCtx
			b.ReportAllocs()
			for b.Loop() {
				ctx.Request.Reset()
				ctx.Response.Reset()
				ctx.Request.Header.SetMethod("GET")
				ctx.Request.SetRequestURI("/healthz")
				h(&ctx)
				if ctx.Response.StatusCode() != 200 {
					b.Fatalf("status %d", ctx.Response.StatusCode())
				}
			}
		})
	}
}
