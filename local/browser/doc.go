// Package browser drives the web page in headless Chromium against the real
// local stack (`make test-e2e`; the tests need the build tag e2e).
package browser
