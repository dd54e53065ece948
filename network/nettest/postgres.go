package nettest

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Postgres starts a throw-away PostgreSQL server (Debian's postgresql package, which
// `make deps` installs) for a test: a temporary data folder, listening on 127.0.0.1
// at basePort (shifted by EDOSSIER_TEST_PORT_SHIFT), trust authentication on that
// address only, stopped and removed when the test ends. It returns a DSN.
//
// Real server, so it follows the real-network rule: skipped under -short. When env CI
// is set a missing PostgreSQL fails the test; otherwise it skips it.
func Postgres(t testing.TB, basePort int) string {
	t.Helper()
	if testing.Short() {
		t.Skip("nettest: real PostgreSQL server; not in the -short tier (run make test)")
	}
	bin, err := postgresBin()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("nettest: %v (make deps installs postgresql)", err)
		}
		t.Skipf("nettest: %v (make deps installs postgresql)", err)
	}
	port := basePort + PortShift(t)
	if port <= 0 || port >= 32768 {
		t.Fatalf("nettest: postgres port %d outside 1..32767", port)
	}
	dir, err := os.MkdirTemp("", "edossier-pg-")
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, name), args...)
		asPostgres(t, cmd)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("nettest: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	if os.Geteuid() == 0 {
		// initdb refuses to run as root: the data folder belongs to postgres.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("nettest: running as root needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	run("initdb", "-D", data, "-U", "edossier", "--auth=trust", "-E", "UTF8", "--no-sync")
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c max_connections=100", port, dir)
	run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start")
	t.Cleanup(func() {
		cmd := exec.Command(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
		asPostgres(t, cmd)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("nettest: pg_ctl stop: %v\n%s", err, out)
		}
		os.RemoveAll(dir)
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		cmd := exec.Command(filepath.Join(bin, "pg_isready"), "-h", "127.0.0.1", "-p", strconv.Itoa(port))
		if cmd.Run() == nil {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("nettest: postgres on port %d not ready\n%s", port, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Sprintf("postgres://edossier@127.0.0.1:%d/postgres?sslmode=disable", port)
}

// postgresBin finds the server binaries (Debian keeps them in
// /usr/lib/postgresql/<version>/bin; EDOSSIER_PG_BIN overrides).
func postgresBin() (string, error) {
	if d := os.Getenv("EDOSSIER_PG_BIN"); d != "" {
		return d, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		if p, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
		return "", fmt.Errorf("PostgreSQL server binaries (initdb) not found")
	}
	return filepath.Dir(matches[len(matches)-1]), nil
}
