// Package rietest runs the built function binaries under the AWS Lambda
// Runtime Interface Emulator with the golden events: `make lambda-test`
// (go test -tags lambdarie, with NUMBERS_LAMBDA_DIR and NUMBERS_RIE set).
package rietest
