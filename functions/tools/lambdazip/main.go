// Command lambdazip packs a bootstrap binary into a deployment zip for the
// provided.al2023 runtime: an entry named "bootstrap", mode 0755, plus any
// data files given with -f (mode 0644, at the zip's root, which Lambda
// unpacks in /var/task), each with a fixed timestamp so the same inputs give
// the same zip (and the same hash).
//
//	go run ./lambdazip -o http.zip [-f rds-global-bundle.pem=path/to/it] path/to/bootstrap
package main

import (
	"archive/zip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "lambdazip:", err)
		os.Exit(1)
	}
}

// files collects -f NAME=PATH flags in order.
type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(v string) error { *f = append(*f, v); return nil }

func run(args []string) error {
	fs := flag.NewFlagSet("lambdazip", flag.ContinueOnError)
	out := fs.String("o", "", "zip file to write")
	var extra files
	fs.Var(&extra, "f", "NAME=PATH: also pack the file at PATH as NAME (mode 0644); repeatable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 1 {
		return errors.New("usage: lambdazip -o OUT.zip [-f NAME=PATH]... BOOTSTRAP")
	}
	entries := []entry{{name: "bootstrap", path: fs.Arg(0), mode: 0o755}}
	for _, e := range extra {
		name, path, ok := strings.Cut(e, "=")
		if !ok || name == "" || path == "" || strings.Contains(name, "/") || name == "bootstrap" {
			return fmt.Errorf("-f %q: want NAME=PATH with a plain file name other than bootstrap", e)
		}
		entries = append(entries, entry{name: name, path: path, mode: 0o644})
	}
	if err := write(*out, entries); err != nil {
		os.Remove(*out)
		return fmt.Errorf("write %s: %w", *out, err)
	}
	return nil
}

type entry struct {
	name, path string
	mode       os.FileMode
}

func write(out string, entries []entry) (err error) {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	zw := zip.NewWriter(f)
	for _, e := range entries {
		if err := add(zw, e); err != nil {
			return err
		}
	}
	return zw.Close()
}

func add(zw *zip.Writer, e entry) error {
	in, err := os.Open(e.path)
	if err != nil {
		return err
	}
	defer in.Close()
	hdr := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
	hdr.SetMode(e.mode)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, in)
	return err
}
