package logging_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/logging"
)

// Loggers are built while others already write (the Lambda handlers of
// parallel tests, a worker and its CLI): under -race this fails if New
// writes what a writing logger reads.
func TestLoggersBuiltWhileOthersWriteDoNotRaceAndWriteNanosecondTimes(t *testing.T) {
	var wg sync.WaitGroup
	bufs := make([]*bytes.Buffer, 8)
	for i := range bufs {
		bufs[i] = &bytes.Buffer{}
		wg.Go(func() {
			log, err := logging.New(bufs[i], "info", logging.FormatJSON, fmt.Sprint("svc-", i))
			if !assert.NoError(t, err) {
				return
			}
			for range 50 {
				log.Info().Msg("hello")
			}
		})
	}
	wg.Wait()
	for i, b := range bufs {
		lines := bytes.Split(bytes.TrimSpace(b.Bytes()), []byte("\n"))
		require.Len(t, lines, 50)
		var rec struct {
			Time    string `json:"time"`
			Service string `json:"service"`
		}
		require.NoError(t, json.Unmarshal(lines[0], &rec))
		assert.Equal(t, fmt.Sprint("svc-", i), rec.Service)
		_, err := time.Parse(time.RFC3339Nano, rec.Time)
		assert.NoError(t, err, "time %q", rec.Time)
	}
}
