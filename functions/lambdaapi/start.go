package lambdaapi

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/numbers-app/numbers/shared/config"
)

// Setup builds a function's handler once per execution environment (the
// INIT phase) and says how to release what it holds.
type Setup func(ctx context.Context, environ map[string]string, logOut io.Writer) (handler any, closeFn func(), err error)

// Main is a function binary's main: the environment, setup, then the Lambda
// loop, which closes what setup opened when Lambda sends SIGTERM. The
// database secret DB_SECRET_ARN names is not read here, once: the Postgres
// pool reads it for each new connection and again when Postgres refuses it
// (pgstore.SecretCredentials), so a rotation needs no new environment.
func Main(name string, setup Setup) {
	ctx := context.Background()
	if err := run(ctx, config.Environ(os.Environ()), os.Stdout, setup); err != nil {
		fmt.Fprintf(os.Stderr, "%s function: %v\n", name, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, environ map[string]string, logOut io.Writer, setup Setup) error {
	handler, closeFn, err := setup(ctx, environ, logOut)
	if err != nil {
		return err
	}
	lambda.StartWithOptions(handler, lambda.WithContext(ctx), lambda.WithEnableSIGTERM(closeFn))
	return nil
}
