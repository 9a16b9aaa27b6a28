package main

import "context"

// runSendScenario measures the send pipeline; it needs the send API.
func runSendScenario(ctx context.Context, s *server, o *options) ([]result, error) {
	return nil, nil
}
