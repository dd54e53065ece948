// Package browsertest starts real Chromium (Debian's chromium package, installed by
// `make deps`) for the portal's browser tests, driven by chromedp. When env CI is set a
// missing browser fails the test; otherwise the test is skipped with a message. The
// browser runs headless with a fresh profile and no network services of its own (the
// machine's network is closed: without these flags Chromium waits on connections).
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Executable finds the Chromium binary: $EDOSSIER_CHROMIUM, then chromium,
// chromium-browser, google-chrome on PATH.
func Executable() (string, error) {
	if p := os.Getenv("EDOSSIER_CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	var err error
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		var p string
		if p, err = exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", err
}

// New starts a browser with a window of width x height and returns the context of its
// first tab; the browser is stopped when the test ends.
func New(t testing.TB, width, height int) context.Context {
	t.Helper()
	path, err := Executable()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("browsertest: no Chromium (run make deps): %v", err)
		}
		t.Skipf("browsertest: no Chromium (make deps installs it): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox, // the tests run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first Do starts the browser; it must not run under a timeout (that would
	// stop the browser when it ends), so a watchdog bounds the start instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("browsertest: starting %s: %v", path, err)
		}
	case <-time.After(time.Minute):
		cancel()
		t.Fatalf("browsertest: %s did not start within a minute", path)
	}
	return ctx
}
