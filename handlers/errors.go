package handlers

import (
	"context"
	"fmt"
)

// failure is the one place an error becomes what a Slack user reads.
// Unexpected errors are logged in full for the operator; the user gets a
// reference to find that log line and nothing internal.
func (d *Dispatcher) failure(ctx context.Context, op string, err error) Ack {
	id := RequestIDFrom(ctx)
	d.log.ErrorContext(ctx, "flow failed", "request_id", id, "op", op, "err", err)
	return Ack{Body: ephemeral(fmt.Sprintf("Something went wrong (ref `%s`).", id))}
}
