//go:build images

package imagetest

import (
	"archive/tar"
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/local/stack"
	"github.com/numbers-app/numbers/shared/testenv"
)

// EnvImagesDir names the directory `make images` wrote (build/images).
const EnvImagesDir = "NUMBERS_IMAGES_DIR"

// The user every image must run as (distroless' "nonroot").
const nonroot = "65532:65532"

// stopBound is how long a container may take to stop after SIGTERM: the
// proxy's and the worker's own shutdown bounds (20 s and 15 s) plus slack
// for a busy machine.
const stopBound = 60 * time.Second

var wantPlatforms = []string{"linux/amd64", "linux/arm64"}

func imagesDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(EnvImagesDir)
	if dir == "" {
		dir = filepath.Join(testenv.Root(t), "build", "images")
	}
	return dir
}

func loadImages(t *testing.T, app string) map[string]image {
	t.Helper()
	dir := filepath.Join(imagesDir(t), app)
	imgs, err := layout(dir).images()
	require.NoError(t, err, "read the OCI layout %s (run make images first)", dir)
	byPlatform := map[string]image{}
	for _, img := range imgs {
		byPlatform[img.Platform] = img
	}
	return byPlatform
}

// TestImagesAreStaticNonRootAndMultiPlatform checks what can be checked
// without running an image, for every platform: the configuration, the files
// and the binary's architecture.
func TestImagesAreStaticNonRootAndMultiPlatform(t *testing.T) {
	for _, app := range []string{"proxy", "worker"} {
		imgs := loadImages(t, app)
		for _, platform := range wantPlatforms {
			t.Run(app+" "+platform, func(t *testing.T) {
				img, ok := imgs[platform]
				require.True(t, ok, "%s image has a %s variant (has: %v)", app, platform, keys(imgs))
				cfg := img.Config.Config
				assert.Equal(t, nonroot, cfg.User, "runs as uid:gid 65532, not root")
				require.Len(t, cfg.Entrypoint, 1)
				if app == "proxy" {
					assert.Contains(t, cfg.Env, "HTTP_ADDR=0.0.0.0:8080", "listens on all interfaces inside a container")
					assert.Contains(t, cfg.ExposedPorts, "8080/tcp")
				}

				files := map[string]entry{}
				var passwd, caBundle, rdsBundle []byte
				var binary []byte
				require.NoError(t, img.eachEntry(func(e entry, r io.Reader) error {
					files[e.Name] = e
					var err error
					switch e.Name {
					case "/etc/passwd":
						passwd, err = io.ReadAll(r)
					case "/etc/ssl/certs/ca-certificates.crt":
						caBundle, err = io.ReadAll(r)
					case "/etc/ssl/certs/rds-global-bundle.pem":
						rdsBundle, err = io.ReadAll(r)
					case cfg.Entrypoint[0]:
						binary, err = io.ReadAll(r)
					}
					return err
				}))
				assert.Contains(t, string(passwd), "nonroot:x:65532:65532:", "/etc/passwd names uid 65532")
				assert.Contains(t, string(caBundle), "-----BEGIN CERTIFICATE-----", "the CA bundle is in the image")
				assert.Contains(t, string(rdsBundle), "-----BEGIN CERTIFICATE-----",
					"the RDS CA bundle PGSSLROOTCERT names (infra: db_ssl_root_cert) is in the image")
				if tmp, ok := files["/tmp"]; assert.True(t, ok, "/tmp exists") {
					assert.EqualValues(t, 0o1777, tmp.Hdr.Mode&0o7777, "/tmp is 1777")
				}
				for name, e := range files {
					assert.Zero(t, e.Hdr.Uid, "%s is owned by root, so uid 65532 cannot change it", name)
					if name != "/tmp" && e.Hdr.Typeflag != tar.TypeSymlink {
						assert.Zero(t, e.Hdr.Mode&0o022, "%s is writable only by its owner (mode %o)", name, e.Hdr.Mode)
					}
				}

				require.NotEmpty(t, binary, "the entrypoint %s is in the image", cfg.Entrypoint[0])
				f, err := elf.NewFile(bytes.NewReader(binary))
				require.NoError(t, err)
				want := map[string]elf.Machine{"linux/amd64": elf.EM_X86_64, "linux/arm64": elf.EM_AARCH64}[platform]
				assert.Equal(t, want, f.Machine, "the binary is built for %s", platform)
				for _, p := range f.Progs {
					assert.NotEqual(t, elf.PT_INTERP, p.Type, "the binary is static: the image has no libc")
				}
			})
		}
	}
}

// container is an image's entrypoint running as a process: the image's root
// filesystem, unpacked, mounted read-only in a private mount namespace with a
// tmpfs on /tmp, entered with chroot as the image's user, with only the
// image's environment and the one given (no container runtime needed).
type container struct {
	name string
	cmd  *exec.Cmd
	done chan error
}

func runContainer(t *testing.T, img image, name string, env []string) *container {
	t.Helper()
	require.Zero(t, os.Geteuid(), "make test-images runs the images with chroot and a private mount namespace: it needs root")
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	require.NoError(t, os.Mkdir(rootfs, 0o755))
	require.NoError(t, img.unpack(rootfs))

	tools := map[string]string{}
	for _, tool := range []string{"unshare", "mount", "chroot", "env"} {
		p, err := exec.LookPath(tool)
		require.NoError(t, err, "%s (util-linux, mount, coreutils) is needed", tool)
		tools[tool] = p
	}
	// unshare, sh, env and chroot each exec the next: the process started
	// here becomes the entrypoint, so signals reach it and its exit status
	// is the container's.
	const script = `set -e
root=$1 user=$2; shift 2
"$MOUNT" --bind "$root" "$root"
"$MOUNT" -o remount,bind,ro "$root"
"$MOUNT" -t tmpfs -o mode=1777,size=16m tmpfs "$root/tmp"
exec "$@"`
	cfg := img.Config.Config
	args := []string{"--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh", rootfs, cfg.User,
		tools["env"], "-i"}
	args = append(args, cfg.Env...)
	args = append(args, env...)
	args = append(args, tools["chroot"], "--userspec="+cfg.User, rootfs)
	args = append(args, cfg.Entrypoint...)
	args = append(args, cfg.Cmd...)
	cmd := exec.Command(tools["unshare"], args...)
	cmd.Env = []string{"MOUNT=" + tools["mount"]}
	out := testenv.LogWriter(t)
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	c := &container{name: name, cmd: cmd, done: make(chan error, 1)}
	go func() { c.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

// running fails the test if the container has exited.
func (c *container) running(t *testing.T) {
	t.Helper()
	select {
	case err := <-c.done:
		c.done <- err
		t.Fatalf("%s exited early: %v", c.name, err)
	default:
	}
}

// checkConfinement checks, from /proc, that the entrypoint runs as uid and
// gid 65532 and that its root filesystem is mounted read-only.
func (c *container) checkConfinement(t *testing.T) {
	t.Helper()
	c.running(t)
	pid := strconv.Itoa(c.cmd.Process.Pid)
	status, err := os.ReadFile("/proc/" + pid + "/status")
	require.NoError(t, err)
	ids := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		ids[k] = strings.Fields(v)
	}
	assert.Equal(t, []string{"65532", "65532", "65532", "65532"}, ids["Uid"], "%s runs as uid 65532", c.name)
	assert.Equal(t, []string{"65532", "65532", "65532", "65532"}, ids["Gid"], "%s runs as gid 65532", c.name)
	assert.NotContains(t, ids["Groups"], "0", "%s is not in the root group", c.name)
	exe, err := os.Readlink("/proc/" + pid + "/exe")
	require.NoError(t, err)
	assert.Contains(t, exe, "/ko-app/", "%s: the entrypoint itself was signalled and waited for, not a wrapper", c.name)

	mounts, err := os.ReadFile("/proc/" + pid + "/mountinfo")
	require.NoError(t, err)
	opts := map[string]string{} // mount point, as the process sees it -> options; the last mount wins
	for _, line := range strings.Split(strings.TrimSpace(string(mounts)), "\n") {
		f := strings.Fields(line)
		if len(f) > 5 {
			opts[f[4]] = f[5]
		}
	}
	require.Contains(t, opts, "/", "%s: its root is a mount point", c.name)
	assert.Contains(t, strings.Split(opts["/"], ","), "ro", "%s: the root filesystem is read-only", c.name)
	assert.Contains(t, strings.Split(opts["/tmp"], ","), "rw", "%s: /tmp is a writable tmpfs", c.name)
}

// stop sends SIGTERM and checks that the container exits 0 within stopBound.
func (c *container) stop(t *testing.T) {
	t.Helper()
	c.running(t)
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-c.done:
		c.done <- err
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Errorf("%s: exit status %d after SIGTERM, want 0", c.name, exit.ExitCode())
		} else {
			assert.NoError(t, err, "%s stops cleanly on SIGTERM", c.name)
		}
	case <-time.After(stopBound):
		t.Errorf("%s still running %s after SIGTERM", c.name, stopBound)
	}
}

// TestImagesServeTheLocalStack runs the host's platform's images against the
// local Postgres and SQS: a POST through the proxy image is 202, the worker
// image stores it, both stop cleanly on SIGTERM.
func TestImagesServeTheLocalStack(t *testing.T) {
	platform := "linux/" + runtime.GOARCH
	proxyImg, ok := loadImages(t, "proxy")[platform]
	require.True(t, ok, "proxy image for %s", platform)
	workerImg, ok := loadImages(t, "worker")[platform]
	require.True(t, ok, "worker image for %s", platform)

	dbURL := testenv.DatabaseURL(t)
	queues := testenv.NewQueues(t, 5, 30*time.Second)
	httpPort, err := stack.FreePort()
	require.NoError(t, err)
	metricsPort, err := stack.FreePort()
	require.NoError(t, err)
	env := []string{
		"DATABASE_URL=" + dbURL,
		"SQS_ENDPOINT=" + testenv.SQSEndpoint(t),
		"SQS_QUEUE_URL=" + queues.Main.URL,
		"SQS_DLQ_URL=" + queues.DLQ.URL,
		"AWS_REGION=us-east-1",
		"SQS_WAIT_TIME=1s",
		"LOG_FORMAT=json",
		"METRICS_EMF_INTERVAL=0",
	}
	proxyURL := fmt.Sprintf("http://127.0.0.1:%d", httpPort)

	// The worker migrates the schema (MIGRATE defaults to true).
	worker := runContainer(t, workerImg, "worker", append(env, fmt.Sprintf("METRICS_ADDR=127.0.0.1:%d", metricsPort)))
	proxy := runContainer(t, proxyImg, "proxy", append(env, fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", httpPort)))

	client := &http.Client{Timeout: 10 * time.Second}
	testenv.Eventually(t, 60*time.Second, "the proxy image to be ready", func() bool {
		proxy.running(t)
		worker.running(t)
		resp, err := client.Get(proxyURL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	testenv.Eventually(t, 60*time.Second, "the worker image to answer /healthz", func() bool {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", metricsPort))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	proxy.checkConfinement(t)
	worker.checkConfinement(t)

	resp, err := client.Post(proxyURL+"/api/values", "application/json", strings.NewReader(`{"value": 9223372036854775807}`))
	require.NoError(t, err)
	var accepted struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&accepted))
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.NotEmpty(t, accepted.ID)

	var stored struct {
		ID        string `json:"id"`
		ValueText string `json:"value_text"`
	}
	testenv.Eventually(t, 60*time.Second, "the worker image to store the number", func() bool {
		worker.running(t)
		resp, err := client.Get(proxyURL + "/api/values/" + accepted.ID)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&stored) == nil
	})
	assert.Equal(t, accepted.ID, stored.ID)
	assert.Equal(t, "9223372036854775807", stored.ValueText)

	proxy.stop(t)
	worker.stop(t)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
