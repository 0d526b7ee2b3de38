//go:build e2e

package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/local/stack"
	"github.com/numbers-app/numbers/shared/testenv"
)

// TestBrowserSubmitQueuedThenStored builds the binaries, starts Postgres,
// the local SQS, the proxy and the worker on free ports, and drives the page
// in headless Chromium: a value goes queued → stored, an invalid one is
// refused next to the field. Screenshots go to build/e2e/ (desktop and
// phone width); with E2E_README_SCREENSHOT=1 the desktop one is also copied
// to docs/screenshot.png.
func TestBrowserSubmitQueuedThenStored(t *testing.T) {
	root := repoRoot(t)
	browser := ensureChromium(t)
	s := startStack(t, root)

	// A value the page must show exactly, beyond JavaScript's 2^53.
	const big = "9007199254740993"
	want := strconv.FormatInt(time.Now().UnixNano()%1_000_000_007, 10)

	ctx := newBrowser(t, browser, 1280, 900)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(s.url+"/"),
		chromedp.WaitVisible(chromedp.ID("value")),
		chromedp.WaitVisible(chromedp.ID("stats")),
	), "the page loads with its form")

	submit := func(v string) error {
		return chromedp.Do(ctx,
			chromedp.Clear(chromedp.ID("value")),
			chromedp.SendKeys(chromedp.ID("value"), v),
			chromedp.Click(chromedp.ID("submit")),
		)
	}
	poll := func(d time.Duration, expr, what string) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(d)))
		require.NoError(t, err, "waiting for: %s", what)
	}

	// Valid: queued at once, then stored.
	require.NoError(t, submit(want))
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#mine li"))))
	first, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#mine li"), "data-status"))
	require.NoError(t, err)
	assert.Contains(t, []string{"queued", "stored"}, first.Value, "the new value shows as queued, then stored")
	poll(30*time.Second, `document.querySelector("#mine li").dataset.status === "stored"`, "the value turns stored")
	mine, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#mine li")))
	require.NoError(t, err)
	assert.Contains(t, mine, want)
	assert.Contains(t, mine, "stored")

	// A value beyond 2^53 tops the stored list, exactly.
	require.NoError(t, submit(big))
	poll(30*time.Second, `document.querySelector("#mine li").dataset.status === "stored"`, "the big value turns stored")
	poll(10*time.Second, `(document.querySelector("#stored tr td.value") || {}).textContent === "`+big+`"`,
		"the big value on top of the stored list, exactly")

	// Invalid: refused next to the field, nothing queued.
	require.NoError(t, submit("1.5"))
	poll(10*time.Second, `document.querySelector("#value-error").textContent.length > 0`, "an error next to the field")
	errText, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("value-error")))
	require.NoError(t, err)
	assert.Contains(t, errText, "Not accepted")
	invalid, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("value"), "aria-invalid"))
	require.NoError(t, err)
	assert.Equal(t, "true", invalid.Value, "the field is marked invalid")
	items, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#mine li").length`))
	require.NoError(t, err)
	assert.Equal(t, 2, items, "the invalid value was not queued")

	// The status strip, /api/stats and /metrics agree: two stored.
	poll(15*time.Second, `document.querySelector("#stat-stored").textContent === "2"`, "the status strip shows 2 stored")
	stats := getJSON(t, s.url+"/api/stats")
	assert.EqualValues(t, 2, stats["stored_count"])
	assert.EqualValues(t, 0, stats["dlq_depth"])
	m := scrape(t, s.url+"/metrics")
	assert.Equal(t, 2.0, m[`numbers_http_requests_total{code="202",route="POST /api/values"}`], "proxy: two 202s")
	assert.Equal(t, 1.0, m[`numbers_http_requests_total{code="400",route="POST /api/values"}`], "proxy: one 400")
	testenv.Eventually(t, 10*time.Second, "the worker reports 2 stored", func() bool {
		return scrape(t, s.workerMetrics+"/metrics")[`numbers_worker_messages_total{outcome="stored"}`] == 2
	})

	require.NoError(t, chromedp.Do(ctx, chromedp.Blur(chromedp.ID("value"))))
	shot := filepath.Join(root, "build", "e2e", "page.png")
	screenshot(t, ctx, shot)
	if os.Getenv("E2E_README_SCREENSHOT") == "1" {
		b, err := os.ReadFile(shot)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(root, "docs", "screenshot.png"), b, 0o644))
	}

	// A phone: the same page at 390px wide, without horizontal scrolling.
	phone := newBrowser(t, browser, 390, 844)
	require.NoError(t, chromedp.Do(phone,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)),
		chromedp.Navigate(s.url+"/"),
		chromedp.WaitVisible(chromedp.ID("value")),
	))
	_, err = chromedp.Run(phone, chromedp.Poll[bool](`document.querySelectorAll("#stored tr").length === 2`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err, "the phone page lists the stored values")
	overflow, err := chromedp.Run(phone, chromedp.Evaluate[int](
		`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
	require.NoError(t, err)
	assert.LessOrEqual(t, overflow, 0, "no horizontal scrolling at phone width")
	screenshot(t, phone, filepath.Join(root, "build", "e2e", "page-phone.png"))
}

type running struct {
	url           string
	workerMetrics string
}

func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "go.mod not found above the test")
		dir = parent
	}
}

// ensureChromium returns the browser's path, installing Debian's chromium
// with apt-get when it is missing and we are root.
func ensureChromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Geteuid() != 0 {
		t.Fatal("Chromium is needed and was not found. Install it: sudo apt-get install -y chromium (Debian/Ubuntu)")
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Fatal("Chromium is needed and was not found, and apt-get is not available to install it: install chromium")
	}
	t.Log("chromium not found: installing it with apt-get (a few minutes)...")
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "chromium"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "apt-get %s: %s", strings.Join(args, " "), tail(out))
	}
	p, err := exec.LookPath("chromium")
	require.NoError(t, err, "chromium installed but not on PATH")
	return p
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// startStack builds proxy and worker, brings up Postgres and the local SQS
// on free ports in a temporary directory and runs both binaries; all of it
// stops in t.Cleanup.
func startStack(t *testing.T, root string) running {
	tmp := t.TempDir()
	for _, name := range []string{"proxy", "worker"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(tmp, "bin", name), "./"+name)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "build %s: %s", name, out)
	}
	logs := testenv.LogWriter(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	deps, err := stack.Up(ctx, stack.Options{Root: root, StateDir: tmp, Fast: true, Queues: true, Log: logs, ServiceLog: io.Discard})
	require.NoError(t, err, "start Postgres and the local SQS")
	t.Cleanup(deps.Down)

	httpPort, err := stack.FreePort()
	require.NoError(t, err)
	metricsPort, err := stack.FreePort()
	require.NoError(t, err)
	env := append(os.Environ(), deps.Env("127.0.0.1:"+strconv.Itoa(httpPort))...)
	env = append(env,
		"METRICS_ADDR=127.0.0.1:"+strconv.Itoa(metricsPort),
		"SQS_WAIT_TIME=1s",
		"LOG_FORMAT=json",
		"METRICS_EMF_INTERVAL=0",
	)
	procCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, name := range []string{"proxy", "worker"} {
		p := &stack.Process{Name: name, Path: filepath.Join(tmp, "bin", name), Env: env, Out: logs, Log: logs, StopTimeout: 20 * time.Second}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Run(procCtx)
		}()
	}
	t.Cleanup(func() { stop(); wg.Wait() }) // runs before deps.Down
	r := running{url: fmt.Sprintf("http://127.0.0.1:%d", httpPort), workerMetrics: fmt.Sprintf("http://127.0.0.1:%d", metricsPort)}
	testenv.Eventually(t, 60*time.Second, "proxy ready and worker listening", func() bool {
		for _, u := range []string{r.url + "/readyz", r.workerMetrics + "/healthz"} {
			resp, err := http.Get(u)
			if err != nil {
				return false
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return false
			}
		}
		return true
	})
	return r
}

// newBrowser starts a fresh headless Chromium (own profile) at a window size.
func newBrowser(t *testing.T, path string, width, height int) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(width, height),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	tctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Do(tctx), "start headless Chromium at %s", path)
	return tctx
}

func screenshot(t *testing.T, ctx context.Context, path string) {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s (%d bytes)", path, len(png))
}

func getJSON(t *testing.T, url string) map[string]any {
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

var sample = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$`)

// scrape reads a Prometheus text page into "name{labels}" → value.
func scrape(t *testing.T, url string) map[string]float64 {
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, line := range bytes.Split(body, []byte("\n")) {
		if m := sample.FindSubmatch(line); m != nil {
			v, err := strconv.ParseFloat(string(m[2]), 64)
			if err == nil {
				out[string(m[1])] = v
			}
		}
	}
	return out
}
