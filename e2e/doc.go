// Package e2e drives the web page in headless Chromium against the real
// local stack (`make test-e2e`; the tests need the build tag e2e).
package e2e
