//go:build images

package imagetest

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/testenv"
)

// TestDockerfilesBuildWithAnyBuilder keeps the Dockerfiles to the syntax
// every builder reads (BuildKit, podman, buildah): no "# syntax=" line (it
// pulls a frontend image), no BuildKit-only flags, and a non-root USER.
func TestDockerfilesBuildWithAnyBuilder(t *testing.T) {
	refused := map[string]*regexp.Regexp{
		"a # syntax= directive":            regexp.MustCompile(`(?im)^#\s*syntax\s*=`),
		"COPY/ADD --exclude":               regexp.MustCompile(`(?im)^\s*(COPY|ADD)\b[^\n]*--exclude`),
		"COPY/ADD --parents or --link":     regexp.MustCompile(`(?im)^\s*(COPY|ADD)\b[^\n]*--(parents|link)\b`),
		"RUN --mount/--network/--security": regexp.MustCompile(`(?im)^\s*RUN\s+--(mount|network|security)`),
		"a heredoc":                        regexp.MustCompile(`(?m)<<-?\s*["']?[A-Z]+["']?\s*$`),
	}
	b, err := os.ReadFile(filepath.Join(testenv.Root(t), "Dockerfile"))
	require.NoError(t, err)
	for what, re := range refused {
		assert.False(t, re.Match(b), "the Dockerfile uses %s, which not every builder reads: %q", what, re.Find(b))
	}
	// The proxy and worker targets both start from the run stage, which
	// sets the user.
	for _, app := range []string{"proxy", "worker"} {
		assert.Regexp(t, `(?m)^FROM run AS `+app+`$`, string(b), "the Dockerfile's %s target starts from the run stage", app)
	}
	users := regexp.MustCompile(`(?m)^USER\s+(\S+)\s*$`).FindAllSubmatch(b, -1)
	require.NotEmpty(t, users, "the Dockerfile sets a USER")
	for _, u := range users {
		assert.Equal(t, "65532:65532", string(u[1]), "the Dockerfile runs as uid 65532")
	}
}
