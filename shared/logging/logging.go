// Package logging builds the zerolog logger every binary uses: JSON lines in
// production, a console writer when the output is a terminal.
package logging

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// Formats for New.
const (
	FormatAuto    = "auto" // console on a terminal, JSON otherwise
	FormatJSON    = "json"
	FormatConsole = "console"
)

// setTimeFormat makes zerolog write times with nanoseconds. zerolog reads
// the format from a package variable whenever it logs, so it is set once,
// before the first logger New returns: setting it on every call raced with
// loggers already writing (two Lambda handlers set up in parallel tests).
var setTimeFormat = sync.OnceFunc(func() { zerolog.TimeFieldFormat = time.RFC3339Nano })

// New returns a logger writing to w at level ("debug", "info", ...) in format.
func New(w io.Writer, level, format, service string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("log level %q: want trace, debug, info, warn or error", level)
	}
	setTimeFormat()
	f, isFile := w.(*os.File)
	tty := isFile && isatty.IsTerminal(f.Fd())
	out := w
	switch format {
	case FormatJSON:
	case FormatConsole:
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000", NoColor: !tty}
	case FormatAuto, "":
		if tty {
			out = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
		}
	default:
		return zerolog.Nop(), fmt.Errorf("log format %q: want auto, json or console", format)
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Str("service", service).Logger(), nil
}
