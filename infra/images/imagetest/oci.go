//go:build images

// Package imagetest runs the images that `make images` built (OCI layouts
// under build/images/) against the local stack: `make test-images`.
package imagetest

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// descriptor is an OCI content descriptor.
type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Platform  *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform,omitempty"`
}

type index struct {
	Manifests []descriptor `json:"manifests"`
}

type manifest struct {
	Config descriptor   `json:"config"`
	Layers []descriptor `json:"layers"`
}

// imageConfig is the part of an OCI image configuration a runtime uses.
type imageConfig struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Config       struct {
		User         string              `json:"User"`
		Entrypoint   []string            `json:"Entrypoint"`
		Cmd          []string            `json:"Cmd"`
		Env          []string            `json:"Env"`
		WorkingDir   string              `json:"WorkingDir"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
	} `json:"config"`
}

// image is one platform's image in an OCI layout.
type image struct {
	Platform string // os/arch
	Config   imageConfig
	Layers   []string // blob paths, lowest first
}

// layout is an OCI image layout directory.
type layout string

func (l layout) blob(digest string) string {
	alg, hex, _ := strings.Cut(digest, ":")
	return filepath.Join(string(l), "blobs", alg, hex)
}

func (l layout) readJSON(digest string, v any) error {
	b, err := os.ReadFile(l.blob(digest))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// images returns every platform's image under the layout's top index
// (index.json naming one image index, as ko writes it, or images directly).
func (l layout) images() ([]image, error) {
	b, err := os.ReadFile(filepath.Join(string(l), "index.json"))
	if err != nil {
		return nil, err
	}
	var top index
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	var out []image
	var walk func(descs []descriptor) error
	walk = func(descs []descriptor) error {
		for _, d := range descs {
			switch d.MediaType {
			case "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json":
				var idx index
				if err := l.readJSON(d.Digest, &idx); err != nil {
					return err
				}
				if err := walk(idx.Manifests); err != nil {
					return err
				}
			case "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json":
				var m manifest
				if err := l.readJSON(d.Digest, &m); err != nil {
					return err
				}
				img := image{}
				if err := l.readJSON(m.Config.Digest, &img.Config); err != nil {
					return err
				}
				img.Platform = img.Config.OS + "/" + img.Config.Architecture
				for _, layer := range m.Layers {
					if !strings.HasSuffix(layer.MediaType, "tar+gzip") {
						return fmt.Errorf("layer %s: media type %s not handled", layer.Digest, layer.MediaType)
					}
					img.Layers = append(img.Layers, l.blob(layer.Digest))
				}
				out = append(out, img)
			default:
				return fmt.Errorf("%s: media type %q not handled", d.Digest, d.MediaType)
			}
		}
		return nil
	}
	if err := walk(top.Manifests); err != nil {
		return nil, err
	}
	return out, nil
}

// entry is a file in a layer, as the tar header says it.
type entry struct {
	Name string // absolute, cleaned
	Hdr  *tar.Header
}

// eachEntry calls fn for every entry of the image's layers, lowest layer
// first, with a reader of the entry's content.
func (img image) eachEntry(fn func(e entry, r io.Reader) error) error {
	for _, blob := range img.Layers {
		if err := eachInLayer(blob, fn); err != nil {
			return fmt.Errorf("layer %s: %w", filepath.Base(blob), err)
		}
	}
	return nil
}

func eachInLayer(blob string, fn func(e entry, r io.Reader) error) error {
	f, err := os.Open(blob)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean("/" + hdr.Name)
		if err := fn(entry{Name: name, Hdr: hdr}, tr); err != nil {
			return err
		}
	}
}

// unpack writes the image's root filesystem into dir, as a runtime would:
// owners, modes, links, and OCI whiteouts (.wh.NAME removes NAME below).
func (img image) unpack(dir string) error {
	return img.eachEntry(func(e entry, r io.Reader) error {
		base := path.Base(e.Name)
		target := filepath.Join(dir, filepath.FromSlash(e.Name))
		if base == ".wh..wh..opq" {
			parent := filepath.Dir(target)
			children, err := os.ReadDir(parent)
			if err != nil && !os.IsNotExist(err) {
				return err
			}
			for _, c := range children {
				if err := os.RemoveAll(filepath.Join(parent, c.Name())); err != nil {
					return err
				}
			}
			return nil
		}
		if hidden, ok := strings.CutPrefix(base, ".wh."); ok {
			return os.RemoveAll(filepath.Join(filepath.Dir(target), hidden))
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		mode := e.Hdr.FileInfo().Mode() & (os.ModePerm | os.ModeSticky | os.ModeSetuid | os.ModeSetgid)
		switch e.Hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			_ = os.RemoveAll(target)
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, r); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
		case tar.TypeSymlink:
			_ = os.RemoveAll(target)
			return os.Symlink(e.Hdr.Linkname, target)
		case tar.TypeLink:
			_ = os.RemoveAll(target)
			return os.Link(filepath.Join(dir, filepath.FromSlash(path.Clean("/"+e.Hdr.Linkname))), target)
		default:
			return fmt.Errorf("%s: tar type %q not handled", e.Name, e.Hdr.Typeflag)
		}
		if err := os.Lchown(target, e.Hdr.Uid, e.Hdr.Gid); err != nil {
			return err
		}
		return os.Chmod(target, mode)
	})
}
