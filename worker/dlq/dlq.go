// Package dlq holds the operator commands for the dead-letter queue:
// `worker dlq stats|peek|replay|export|import|purge`.
package dlq

import (
	"context"
	"errors"
	"io"

	"github.com/numbers-app/numbers/shared/config"
)

// Run runs one dlq subcommand.
func Run(ctx context.Context, args []string, cfg config.Common, stdout, stderr io.Writer) error {
	return errors.New("worker dlq: not implemented yet")
}
