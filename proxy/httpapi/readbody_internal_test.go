package httpapi

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadBodyReadsAllWhateverTheAnnouncedLength holds readBody to
// io.ReadAll: a body shorter or longer than its Content-Length, one that
// comes a byte a read or with its last data and EOF together, and an
// unknown length all read whole; a read error is returned.
func TestReadBodyReadsAllWhateverTheAnnouncedLength(t *testing.T) {
	body := `{"value": 9223372036854775807}`
	readers := map[string]func() io.Reader{
		"plain":        func() io.Reader { return strings.NewReader(body) },
		"byte by byte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(body)) },
		"data and EOF": func() io.Reader { return iotest.DataErrReader(strings.NewReader(body)) },
	}
	for name, r := range readers {
		for _, announced := range []int64{-1, 0, 1, int64(len(body)) - 1, int64(len(body)), int64(len(body)) + 1, MaxBodyBytes} {
			got, err := readBody(r(), announced)
			if err != nil || string(got) != body {
				t.Errorf("%s, Content-Length %d: got %q, %v; want the whole body", name, announced, got, err)
			}
		}
	}
	boom := errors.New("boom")
	if _, err := readBody(iotest.ErrReader(boom), 10); !errors.Is(err, boom) {
		t.Errorf("a failing read: got %v, want %v", err, boom)
	}
}
