// Package sqsqueue is the SQS adapter: a client for AWS or a local
// SQS-compatible server, a Publisher that coalesces sends into
// SendMessageBatch calls, and a Queue with the consumer-side calls (receive,
// delete, change visibility, send batches, attributes).
package sqsqueue

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// ClientConfig says where SQS is.
type ClientConfig struct {
	// Region is the AWS region. Defaults to us-east-1.
	Region string
	// Endpoint overrides the SQS endpoint (a local server such as fauxqs).
	// Empty on AWS. When set, static dummy credentials are used unless the
	// environment provides some.
	Endpoint string
	// MaxConns caps idle connections per host, which bounds how many
	// requests reuse connections under load. Defaults to 64.
	MaxConns int
	// HTTPClient, when set, carries the requests instead of the pooled
	// client NewClient builds (benchmarks replay recorded answers with it).
	HTTPClient aws.HTTPClient
}

// NewClient builds an SQS client. Credentials come from the SDK's usual
// chain (environment, shared config, ECS task role, IMDS).
func NewClient(ctx context.Context, cfg ClientConfig) (*sqs.Client, error) {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 64
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = cfg.MaxConns
		t.MaxIdleConnsPerHost = cfg.MaxConns
		t.DialContext = (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	})

	opts := []func(*config.LoadOptions) error{
		config.WithRegion(cfg.Region),
		config.WithHTTPClient(httpClient),
	}
	if cfg.Endpoint != "" {
		opts = append(opts, config.WithCredentialsProvider(aws.NewCredentialsCache(
			credentials.NewStaticCredentialsProvider("local", "local", ""))))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	return sqs.NewFromConfig(awsCfg, func(o *sqs.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		if cfg.HTTPClient != nil {
			o.HTTPClient = cfg.HTTPClient
		}
	}), nil
}
