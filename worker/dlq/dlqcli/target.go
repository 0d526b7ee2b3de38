package dlqcli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/numbers-app/numbers/shared/config"
)

// DefaultStackEnv is the file `make run` writes while the local stack runs
// (relative to the repository root; LOCAL_STATE_DIR moves it).
const DefaultStackEnv = ".local/stack.env"

// Target is where the commands go.
type Target struct {
	DLQURL   string
	QueueURL string
	Endpoint string // empty on AWS
	Region   string
	// From says where the queue URLs came from, for the operator.
	From string
}

// Local reports whether the target is a local SQS server rather than AWS.
func (t Target) Local() bool { return t.Endpoint != "" }

// targetFlags are the flags that override the environment.
type targetFlags struct {
	DLQURL   string
	QueueURL string
	Endpoint string
	Region   string
	StackEnv string
}

var errNoQueue = errors.New("no dead-letter queue configured: start the stack with `make run` " +
	"(it writes .local/stack.env, which this command reads; $LOCAL_STATE_DIR/stack.env when make run was given that), or set SQS_DLQ_URL (with SQS_QUEUE_URL, " +
	"and SQS_ENDPOINT for a local SQS), or pass --dlq-url / --stack-env FILE")

// resolveTarget applies, from strongest to weakest: flags, the environment
// (already parsed into cfg), then the local stack's stack.env. The file is
// read when --stack-env names it, or when no DLQ URL is set otherwise; it
// is looked for at $LOCAL_STATE_DIR/stack.env, then .local/stack.env.
func resolveTarget(cfg config.Common, fl targetFlags, getenv func(string) string) (Target, error) {
	t := Target{DLQURL: cfg.DLQURL, QueueURL: cfg.QueueURL, Endpoint: cfg.SQSEndpoint, Region: cfg.AWSRegion, From: "environment"}
	if fl.StackEnv != "" || (fl.DLQURL == "" && t.DLQURL == "") {
		path, vars, err := findStackEnv(fl.StackEnv, getenv)
		if err != nil {
			return Target{}, err
		}
		if vars != nil {
			fill := func(dst *string, key string) {
				if *dst == "" {
					*dst = vars[key]
				}
			}
			fromFile := t.DLQURL == ""
			fill(&t.DLQURL, "SQS_DLQ_URL")
			fill(&t.QueueURL, "SQS_QUEUE_URL")
			fill(&t.Endpoint, "SQS_ENDPOINT")
			fill(&t.Region, "AWS_REGION")
			if fromFile {
				t.From = path
			}
		}
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
			if dst == &t.DLQURL {
				t.From = "flags"
			}
		}
	}
	set(&t.DLQURL, fl.DLQURL)
	set(&t.QueueURL, fl.QueueURL)
	set(&t.Endpoint, fl.Endpoint)
	set(&t.Region, fl.Region)
	if t.DLQURL == "" {
		return Target{}, errNoQueue
	}
	return t, nil
}

// findStackEnv reads the stack file. With an explicit path a missing file
// is an error; otherwise it returns nil vars when there is none.
func findStackEnv(explicit string, getenv func(string) string) (string, map[string]string, error) {
	candidates := []string{explicit}
	if explicit == "" {
		candidates = nil
		if dir := getenv("LOCAL_STATE_DIR"); dir != "" {
			candidates = append(candidates, filepath.Join(dir, "stack.env"))
		}
		candidates = append(candidates, DefaultStackEnv)
	}
	for _, p := range candidates {
		f, err := os.Open(p) //nolint:gosec // the operator names the file to read on their own command line
		if errors.Is(err, fs.ErrNotExist) && explicit == "" {
			continue
		}
		if err != nil {
			return "", nil, fmt.Errorf("stack env: %w (is the stack running? `make run` writes it)", err)
		}
		vars, err := parseStackEnv(f)
		f.Close()
		if err != nil {
			return "", nil, fmt.Errorf("stack env %s: %w", p, err)
		}
		return p, vars, nil
	}
	return "", nil, nil
}

// parseStackEnv reads KEY=VALUE lines; blank lines and # comments are skipped.
func parseStackEnv(r io.Reader) (map[string]string, error) {
	vars := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: want KEY=VALUE", n)
		}
		vars[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return vars, sc.Err()
}
