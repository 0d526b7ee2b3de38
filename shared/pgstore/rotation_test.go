package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/local/pgcluster"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/testenv"
)

// fakeSecret is a Secrets Manager that holds one secret (a fake secret
// SOURCE: the database behind it is the real one).
type fakeSecret struct {
	mu      sync.Mutex
	current string
	pending string
	reads   int
}

func (f *fakeSecret) set(user, password string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.current = fmt.Sprintf(`{"username":%q,"password":%q,"engine":"postgres"}`, user, password)
}

func (f *fakeSecret) setPending(user, password string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = fmt.Sprintf(`{"username":%q,"password":%q}`, user, password)
}

func (f *fakeSecret) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	v := f.current
	if aws.ToString(in.VersionStage) == "AWSPENDING" {
		if f.pending == "" {
			return nil, errors.New("ResourceNotFoundException: no AWSPENDING version")
		}
		v = f.pending
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

func (f *fakeSecret) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

func TestPasswordRotationUnderLoadLosesNothingAndShowsNoError(t *testing.T) {
	t.Parallel()
	pg := privateCluster(t, pgcluster.Options{PasswordRoles: []string{"app"}})
	ctx := context.Background()
	admin := testenv.OpenDB(t, pg.URL())
	mustExec := func(q string) {
		t.Helper()
		_, err := admin.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
	mustExec(`CREATE ROLE app LOGIN PASSWORD 'first-password'`)
	mustExec(`ALTER DATABASE numbers OWNER TO app`)

	secret := &fakeSecret{}
	secret.set("app", "first-password")
	creds := &pgstore.SecretCredentials{API: secret, SecretID: "arn:aws:secretsmanager:test:secret:rds", MinRefresh: 100 * time.Millisecond}
	s, err := pgstore.Open(pgstore.Config{URL: pg.URLFor("app"), MaxConns: 4, Credentials: creds})
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Migrate(ctx)
	require.NoError(t, err, "the app role connects with the secret's password")

	refused := func(password string) error {
		t.Helper()
		other, err := pgstore.Open(pgstore.Config{URL: pg.URLFor("app"),
			Credentials: pgstore.StaticCredentials{User: "app", Password: password}})
		require.NoError(t, err)
		defer other.Close()
		return other.Ping(ctx)
	}
	err = refused("not-the-password")
	require.ErrorIs(t, err, number.ErrUnavailable, "the role really authenticates by password")

	// Load: writers and readers, continuously, until told to stop.
	var stored sync.Map
	var ops, failures atomic.Int64
	var errMu sync.Mutex
	var firstErr error
	stop := make(chan struct{})
	var stopOnce sync.Once
	var wg sync.WaitGroup
	halt := func() {
		stopOnce.Do(func() { close(stop) })
		wg.Wait()
	}
	defer halt() // also when a require below ends the test early
	fail := func(err error) {
		failures.Add(1)
		errMu.Lock()
		defer errMu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				batch := []number.Submission{sub(int64(w*1_000_000+i), time.Now()), sub(int64(w*1_000_000+i), time.Now())}
				if _, err := s.Insert(ctx, batch); err != nil {
					fail(err)
					continue
				}
				for _, b := range batch {
					stored.Store(b.ID, true)
				}
				ops.Add(1)
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := s.List(ctx, number.Page{Limit: 10}); err != nil {
					fail(err)
					continue
				}
				ops.Add(1)
			}
		}()
	}
	// progress waits for n more successful operations.
	progress := func(n int64) {
		t.Helper()
		target := ops.Load() + n
		deadline := time.Now().Add(time.Minute)
		for ops.Load() < target && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		require.GreaterOrEqual(t, ops.Load(), target, "the load makes progress")
	}
	terminateApp := func() {
		t.Helper()
		var n int
		require.NoError(t, admin.QueryRowContext(ctx,
			`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'app'`).Scan(&n))
		require.Positive(t, n, "the app role had connections to end")
	}

	progress(200)
	// A rotation as Secrets Manager runs it: createSecret puts the new
	// password in the pending version, setSecret sets it in the database,
	// finishSecret makes it current; then every connection ends, so new
	// ones are needed. A connection opened between setSecret and
	// finishSecret finds the pending version. Rotations come days apart,
	// past MinRefresh since the last read (the sleep; without it a refusal
	// right after the first read would, by design, not read again).
	time.Sleep(150 * time.Millisecond)
	readsBefore := secret.readCount()
	secret.setPending("app", "second-password")
	mustExec(`ALTER ROLE app PASSWORD 'second-password'`)
	secret.set("app", "second-password")
	terminateApp()
	progress(200)
	assert.Greater(t, secret.readCount(), readsBefore, "a refused password made the secret be read again")
	require.Error(t, refused("first-password"), "the old password no longer works")

	// A rotation caught between its steps: the database has the new
	// password, the secret's current version still the old one, the
	// pending version the new one.
	time.Sleep(150 * time.Millisecond) // past MinRefresh since the last read
	mustExec(`ALTER ROLE app PASSWORD 'third-password'`)
	secret.setPending("app", "third-password")
	terminateApp()
	progress(200)
	halt()

	if firstErr != nil {
		t.Errorf("first client-visible error: %v", firstErr)
	}
	assert.Zero(t, failures.Load(), "no operation failed during the rotations")
	want := 0
	stored.Range(func(any, any) bool { want++; return true })
	count, err := s.Count(ctx)
	require.NoError(t, err)
	assert.Equal(t, want, count, "every acknowledged write is stored")
	t.Logf("two rotations under load: %d operations, %d failed; %d rows acknowledged, %d stored; the secret was read %d times",
		ops.Load(), failures.Load(), want, count, secret.readCount())
}
