package main

import (
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/worker/service"
)

// derived are README defaults computed from another variable, not a value
// of their own.
var derived = map[string]bool{
	"RATE_LIMIT_BURST": true, // "2 × rate"
}

func TestTheREADMEConfigurationTableMatchesTheCode(t *testing.T) {
	table, rows := readmeConfiguration(t, "../README.md")
	env := map[string]string{"DATABASE_URL": "postgres://u@127.0.0.1/db", "SQS_QUEUE_URL": "http://127.0.0.1/q", "SQS_DLQ_URL": "http://127.0.0.1/d"}
	var proxy Config
	require.NoError(t, config.Parse(&proxy, env))
	proxy.Config = proxy.WithDefaults()
	var worker service.Config
	require.NoError(t, config.Parse(&worker, env))
	worker = worker.WithDefaults()

	read := map[string]bool{}
	for binary, cfg := range map[string]any{"proxy": proxy, "worker": worker} {
		for name, v := range envFields(reflect.ValueOf(cfg)) {
			read[name] = true
			if name == "DATABASE_URL" || name == "SQS_QUEUE_URL" || name == "SQS_DLQ_URL" {
				continue // set above
			}
			cell, ok := rows[name]
			if !ok {
				// Described in another row, like PGPORT in DATABASE_URL's:
				// "`PGPORT` (5432)".
				if v.IsZero() {
					assert.Contains(t, table, "`"+name+"`", "%s (%s) is not in the README's configuration table", name, binary)
				} else {
					assert.Contains(t, table, "`"+name+"` ("+format(v)+")", "%s (%s) defaults to %s", name, binary, format(v))
				}
				continue
			}
			if derived[name] {
				continue
			}
			assertDefault(t, binary, name, cell, v)
		}
	}
	for name := range rows {
		assert.True(t, read[name], "the README documents %s, which neither the proxy nor the worker reads", name)
	}
}

// A configuration with nothing but the required variables set is valid as
// parsed: Validate judges the defaults, not the zero values they replace.
func TestTheDefaultConfigurationIsValidAsParsed(t *testing.T) {
	env := map[string]string{"DATABASE_URL": "postgres://u@127.0.0.1/db", "SQS_QUEUE_URL": "http://127.0.0.1/q", "SQS_DLQ_URL": "http://127.0.0.1/d"}
	var proxy Config
	require.NoError(t, config.Parse(&proxy, env))
	assert.NoError(t, proxy.Validate())
	var worker service.Config
	require.NoError(t, config.Parse(&worker, env))
	assert.NoError(t, worker.Validate())
}

// Send batching settings that would stall posts or never mean what they
// say are refused by name when the configuration is validated, before
// Postgres or SQS is opened.
func TestBadSendBatchingSettingsAreRefusedByName(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"SQS_SEND_LINGER", "-5ms", "SQS_SEND_LINGER"},
		{"SQS_SEND_LINGER", "1h", "SQS_SEND_LINGER"},
		{"SQS_SEND_BUSY_RATE", "NaN", "BusyRate"},
		{"SQS_SEND_BUSY_RATE", "+Inf", "BusyRate"},
		{"SQS_SEND_BUSY_RATE", "0.5", "BusyRate"},
		{"SQS_SEND_BUSY_RATE", "-1", "BusyRate"},
		{"SQS_SEND_MAX_IN_FLIGHT", "-1", "MaxInFlight"},
	} {
		env := map[string]string{"DATABASE_URL": "postgres://u@127.0.0.1/db", "SQS_QUEUE_URL": "http://127.0.0.1/q", tc.name: tc.value}
		var proxy Config
		require.NoError(t, config.Parse(&proxy, env), "%s=%s parses", tc.name, tc.value)
		err := proxy.Validate()
		if assert.Error(t, err, "%s=%s is refused", tc.name, tc.value) {
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "SQS_SEND_", "the message names the variables")
		}
	}
	for _, ok := range []struct{ name, value string }{{"SQS_SEND_LINGER", "1s"}, {"SQS_SEND_BUSY_RATE", "1e9"}, {"SQS_SEND_BUSY_RATE", "1"}} {
		env := map[string]string{"DATABASE_URL": "postgres://u@127.0.0.1/db", "SQS_QUEUE_URL": "http://127.0.0.1/q", ok.name: ok.value}
		var proxy Config
		require.NoError(t, config.Parse(&proxy, env))
		assert.NoError(t, proxy.Validate(), "%s=%s is a valid setting", ok.name, ok.value)
	}
}

// assertDefault checks a README default cell against v: "—…" and
// "empty…" are the zero value, "X proxy, Y worker" is per binary, else the
// cell's first word is the value.
func assertDefault(t *testing.T, binary, name, cell string, v reflect.Value) {
	t.Helper()
	if strings.HasPrefix(cell, "—") || strings.HasPrefix(cell, "empty") {
		assert.True(t, v.IsZero(), "%s (%s): the README says no default, the code has %s", name, binary, format(v))
		return
	}
	if per := strings.Split(cell, ", "); len(per) > 1 {
		for _, p := range per {
			if val, who, ok := strings.Cut(p, " "); ok && who == binary {
				cell = val
			}
		}
	}
	word, _, _ := strings.Cut(cell, " ")
	var same bool
	switch x := v.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(word)
		same = err == nil && d == x
	case int:
		n, err := strconv.Atoi(word)
		same = err == nil && n == x
	case float64:
		f, err := strconv.ParseFloat(word, 64)
		same = err == nil && f == x
	case bool:
		b, err := strconv.ParseBool(word)
		same = err == nil && b == x
	case string:
		same = word == x
	default:
		t.Errorf("%s: no comparison for %T", name, x)
		return
	}
	assert.True(t, same, "%s (%s): the README says %q, the code defaults to %s", name, binary, word, format(v))
}

// envFields maps each env tag of a config struct (embedded ones included)
// to its field's value.
func envFields(v reflect.Value) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			for k, fv := range envFields(v.Field(i)) {
				out[k] = fv
			}
			continue
		}
		if name, ok := f.Tag.Lookup("env"); ok {
			out[name] = v.Field(i)
		}
	}
	return out
}

func format(v reflect.Value) string { return config.FormatDefault(v.Interface()) }

// readmeConfiguration returns the README's "## Configuration" section and
// its table's rows, variable to default cell.
func readmeConfiguration(t *testing.T, path string) (string, map[string]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(b), "\n## Configuration\n")
	require.True(t, ok, "no Configuration section in %s", path)
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]string{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		rows[name] = strings.TrimSpace(cells[2])
	}
	require.NotEmpty(t, rows, "no configuration table in %s", path)
	return section, rows
}

// A negative bound on writes in flight would answer every write 503; it
// is refused by name before anything is opened.
func TestANegativeMaxInflightWritesIsRefusedByName(t *testing.T) {
	env := map[string]string{"DATABASE_URL": "postgres://u@127.0.0.1/db", "SQS_QUEUE_URL": "http://127.0.0.1/q", "MAX_INFLIGHT_WRITES": "-1"}
	var proxy Config
	require.NoError(t, config.Parse(&proxy, env))
	err := proxy.Validate()
	if assert.Error(t, err) {
		assert.Contains(t, err.Error(), "MAX_INFLIGHT_WRITES")
	}
}
