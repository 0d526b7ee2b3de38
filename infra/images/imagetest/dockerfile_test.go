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
	for _, app := range []string{"proxy", "worker"} {
		t.Run(app, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(testenv.Root(t), app, "Dockerfile"))
			require.NoError(t, err)
			for what, re := range refused {
				assert.False(t, re.Match(b), "%s/Dockerfile uses %s, which not every builder reads: %q", app, what, re.Find(b))
			}
			users := regexp.MustCompile(`(?m)^USER\s+(\S+)\s*$`).FindAllSubmatch(b, -1)
			require.NotEmpty(t, users, "%s/Dockerfile sets a USER", app)
			assert.Equal(t, "65532:65532", string(users[len(users)-1][1]), "%s/Dockerfile runs as uid 65532", app)
		})
	}
}
