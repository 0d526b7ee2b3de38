package httpapi

import (
	"embed"
	"net/http"
	"path"
)

//go:embed web/index.html web/assets
var pageFS embed.FS

// assetTypes are the asset files the page may load, by extension.
var assetTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml",
}

func servePage(w http.ResponseWriter, r *http.Request) {
	page, err := pageFS.ReadFile("web/index.html")
	if err != nil {
		http.Error(w, "page missing", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	setPageHeaders(h)
	_, _ = w.Write(page)
}

// setPageHeaders: only the page's own files run; no framing, no sniffing.
func setPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}

// serveAsset serves web/assets/{name} (the page's script and style sheet).
func serveAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	ctype, ok := assetTypes[path.Ext(name)]
	body, err := pageFS.ReadFile("web/assets/" + name)
	if !ok || err != nil {
		writeError(w, r, http.StatusNotFound, "no such asset: "+name)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	setPageHeaders(h)
	_, _ = w.Write(body) //nolint:gosec // body is a file embedded in the binary (the name only picks which), served under the page's CSP
}
