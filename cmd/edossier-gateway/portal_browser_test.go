package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/web"
	"github.com/edossier-city/edossier/gateway/web/browsertest"
	"github.com/edossier-city/edossier/network/nettest"
)

// portalBasePort is the browser test's network (main's numbering).
const portalBasePort = 23800

// tab is one Chromium tab on the portal with a record of every request it sent and
// every response it got.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	shot string // screenshot folder ("" = none)
	// downloads is the folder the tab's downloads go to ("" until the first).
	downloads string

	mu        sync.Mutex
	requests  []*network.Request
	documents []*network.Response
}

func newTab(t *testing.T, base string) *tab {
	ctx := browsertest.New(t, 390, 844)
	b := &tab{t: t, ctx: ctx, base: base}
	reqs := chromedp.Events(ctx, network.RequestWillBeSent)
	resps := chromedp.Events(ctx, network.ResponseReceived)
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			if d := ev.ExceptionDetails; d != nil {
				msg := d.Text
				if d.Exception != nil {
					msg += " " + d.Exception.Description
				}
				t.Logf("browser exception: %s (%s:%d)", msg, d.URL, d.LineNumber)
			}
		}
	}()
	go func() {
		for ev, err := range reqs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.requests = append(b.requests, ev.Request)
			b.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range resps {
			if err != nil {
				return
			}
			if ev.Type == network.ResourceTypeDocument {
				b.mu.Lock()
				b.documents = append(b.documents, ev.Response)
				b.mu.Unlock()
			}
		}
	}()
	if root, err := nettest.Root(); err == nil {
		b.shot = filepath.Join(root, ".edossier", "screenshots")
		_ = os.MkdirAll(b.shot, 0o755)
	}
	return b
}

// citizenLoaded waits until the citizen's page has filled in all its sections (each
// pushes the ones below it down, so a click before that can miss its button).
var citizenLoaded = chromedp.WaitVisible(chromedp.CSS(`#citizen-home[aria-busy="false"]`))

// do runs steps with a deadline. On failure it shows where the tab is, its main
// element and the last requests it sent.
func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		html, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		b.mu.Lock()
		var last []string
		for _, r := range b.requests[max(0, len(b.requests)-12):] {
			last = append(last, r.Method+" "+r.URL)
		}
		b.mu.Unlock()
		b.t.Fatalf("browser at %s: %v\n%s\nlast requests:\n  %s", loc, err, html, strings.Join(last, "\n  "))
	}
}

func (b *tab) eval(js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	return b.eval(fmt.Sprintf(`(document.querySelector(%q) || {textContent: "<none>"}).textContent.trim()`, sel))
}

// screenshot checks that the page fits a phone's width (390 px: nothing sticks out to the
// right, so nobody has to scroll sideways) and writes it at 390x844 and 1366x768 into
// .edossier/screenshots.
func (b *tab) screenshot(name string) {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(390, 844))
	if wide := b.eval(`(() => {
		const w = document.documentElement.clientWidth;
		if (document.documentElement.scrollWidth <= w) return "";
		const out = [];
		for (const e of document.querySelectorAll("body *")) {
			const r = e.getBoundingClientRect();
			if (r.right > w + 1 && out.length < 5) out.push(e.tagName.toLowerCase() + (e.className ? "." + e.className : "") + " (" + Math.round(r.right) + " px)");
		}
		return "page " + document.documentElement.scrollWidth + " px wide: " + out.join(", ");
	})()`); wide != "" {
		b.t.Errorf("%s does not fit 390 px: %s", name, wide)
	}
	if b.shot == "" {
		return
	}
	for _, size := range [][2]int64{{390, 844}, {1366, 768}} {
		ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		err := chromedp.Do(ctx, chromedp.EmulateViewport(size[0], size[1]))
		var png []byte
		if err == nil {
			png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		}
		cancel()
		if err != nil {
			b.t.Fatalf("screenshot %s: %v", name, err)
		}
		_ = os.WriteFile(filepath.Join(b.shot, fmt.Sprintf("%s-%dx%d.png", name, size[0], size[1])), png, 0o644)
	}
	b.do(chromedp.EmulateViewport(390, 844))
}

// axeSource is axe-core's script (make deps-npm installs it), "" if missing.
func axeSource(t *testing.T) string {
	root, err := nettest.Root()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, ".edossier", "node", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("axe-core missing (make deps-npm): %v", err)
		}
		t.Logf("axe-core missing (make deps-npm installs it): accessibility not checked")
		return ""
	}
	return string(src)
}

// axe runs axe-core on the current page (injected through DevTools, which the page's
// CSP does not govern) and reports serious and critical violations.
func (b *tab) axe(src, name string) {
	b.t.Helper()
	if src == "" {
		return
	}
	for _, v := range b.axeViolations(src, name) {
		b.t.Errorf("accessibility, %s: %s", name, v)
	}
}

func (b *tab) axeViolations(src, name string) []string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`typeof axe === "undefined" ? (0, eval)(`+fmt.Sprintf("%q", src)+`) : 0`)); err != nil {
		b.t.Fatalf("inject axe-core: %v", err)
	}
	found, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
		.filter(v => v.impact === "serious" || v.impact === "critical")
		.map(v => v.impact + " " + v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", ")))`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("axe-core on %s: %v", name, err)
	}
	return found
}

// download runs trigger and returns the bytes of the download it starts (the files go
// to a folder of the tab's own).
func (b *tab) download(t *testing.T, trigger chromedp.Action[chromedp.Void]) []byte {
	t.Helper()
	if b.downloads == "" {
		b.downloads = t.TempDir()
		if _, err := chromedp.CallBrowser(b.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: b.downloads, EventsEnabled: new(true)}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	b.do(trigger)
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("no download: %v", err)
		}
		switch ev.State {
		case browser.DownloadProgressStateCompleted:
			got, err := os.ReadFile(filepath.Join(b.downloads, ev.GUID))
			if err != nil {
				t.Fatal(err)
			}
			return got
		case browser.DownloadProgressStateCanceled:
			t.Fatal("download cancelled")
		}
	}
	return nil
}

// tabTo presses Tab until the JavaScript condition holds (at most 40 times).
func (b *tab) tabTo(cond string) {
	b.t.Helper()
	b.keysUntil(kb.Tab, cond)
}

// arrowTo presses the down arrow until the condition holds (a list by keyboard).
func (b *tab) arrowTo(cond string) {
	b.t.Helper()
	b.keysUntil(kb.ArrowDown, cond)
}

func (b *tab) keysUntil(key, cond string) {
	b.t.Helper()
	for range 40 {
		if b.eval(`String(`+cond+`)`) == "true" {
			return
		}
		b.do(chromedp.KeyEvent(key))
	}
	b.t.Fatalf("keyboard: %s never held (focus on %s)", cond, b.eval(`document.activeElement.outerHTML.slice(0, 120)`))
}

func (b *tab) sent() []*network.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*network.Request(nil), b.requests...)
}

// TestPortalInBrowser drives the portal in real Chromium against a real network: the
// verifier's file is hashed in the browser (no request carries its bytes; a one-byte
// change is not verified), every page has the CSP and frame headers, the language
// switch, the clerk's sign-in with its cookie flags, resolve and append through the
// pages (a note with <script> shown as text), a forged CSRF token refused, and the
// read of a file under the citizen's grant (bytes equal), refused after the citizen
// revoked it.
func TestPortalInBrowser(t *testing.T) {
	e := startEnvWith(t, portalBasePort, nil)
	health, social := e.keys.Departments["health"], e.keys.Departments["social"]
	b := newTab(t, e.url)

	// A record appended through the API; the verifier has its file.
	original := make([]byte, 64<<10)
	rand.Read(original)
	baby := newCitizen(t, e.resolve(health, personID(801)))
	r := e.appendRecord(health, baby.subjectID, "birth-medical-certificate", "", original, "")
	expectStatus(t, r, 201)
	var rec recordResult
	r.json(t, &rec)
	dir := t.TempDir()
	origPath, changedPath := filepath.Join(dir, "birth.pdf"), filepath.Join(dir, "birth-changed.pdf")
	changed := bytes.Clone(original)
	changed[len(changed)/2] ^= 1
	os.WriteFile(origPath, original, 0o600)
	os.WriteFile(changedPath, changed, 0o600)

	t.Run("verifier", func(t *testing.T) {
		b.t = t
		b.do(chromedp.Navigate(e.url+"/zh/verify"), chromedp.WaitVisible(chromedp.ID("file")))
		b.screenshot("verify")
		before := len(b.sent())
		b.do(chromedp.SetUploadFiles(chromedp.ID("file"), []string{origPath}), chromedp.WaitVisible(chromedp.ID("verdict")))
		if st := b.eval(`document.getElementById("verdict").dataset.status`); st != "verified" {
			t.Fatalf("original file: %s", st)
		}
		if got := b.text("#cid-shown"); got != rec.Record.CID {
			t.Fatalf("browser CID %s, gateway CID %s", got, rec.Record.CID)
		}
		if issuer := b.text(".issuer"); issuer == "" || issuer == "HealthMSP" {
			t.Fatalf("issuer shown as %q, want its registered name", issuer)
		}
		b.screenshot("verified")
		b.do(chromedp.Navigate(e.url+"/zh/verify"), chromedp.WaitVisible(chromedp.ID("file")),
			chromedp.SetUploadFiles(chromedp.ID("file"), []string{changedPath}), chromedp.WaitVisible(chromedp.ID("verdict")))
		if st := b.eval(`document.getElementById("verdict").dataset.status`); st != "not_found" {
			t.Fatalf("one byte changed: %s", st)
		}
		// No request carried the file: every request since the drop is a GET without a
		// body, and the CID went in a URL.
		reqs := b.sent()[before:]
		sawCID := false
		for _, q := range reqs {
			if q.Method != "GET" || q.HasPostData || len(q.PostDataEntries) > 0 {
				t.Errorf("request with a body: %s %s", q.Method, q.URL)
			}
			if strings.Contains(q.URL, rec.Record.CID) {
				sawCID = true
			}
		}
		if !sawCID || len(reqs) < 4 {
			t.Fatalf("requests seen %d, CID sent %v: the network record is not working", len(reqs), sawCID)
		}
		b.do(chromedp.Navigate(e.url+"/zh/verify/"+rec.Record.CID+"/slip"), chromedp.WaitVisible(chromedp.CSS("img.qr")))
		for i := 0; i < 50 && b.eval(`String(document.querySelector("img.qr").naturalWidth)`) == "0"; i++ {
			time.Sleep(100 * time.Millisecond)
		}
		if w := b.eval(`String(document.querySelector("img.qr").naturalWidth)`); w == "0" {
			t.Fatal("the slip's QR code did not load")
		}
		b.screenshot("slip")
	})

	t.Run("language switch", func(t *testing.T) {
		b.t = t
		b.do(chromedp.Navigate(e.url+"/zh/verify/"+rec.Record.CID), chromedp.WaitVisible(chromedp.ID("verdict")))
		if lang := b.eval(`document.documentElement.lang`); lang != "zh-CN" || b.text("#verdict .big") != "有效" {
			t.Fatalf("zh page: %s %s", lang, b.text("#verdict .big"))
		}
		b.do(chromedp.Click(chromedp.ID("lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #verdict`)))
		if got := b.text("#verdict .big"); got != "Valid" {
			t.Fatalf("en page: %s", got)
		}
		b.screenshot("verified-en")
		// The language is remembered for language-neutral QR links.
		b.do(chromedp.Navigate(e.url+"/verify/"+rec.Record.CID), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #verdict`)))
		b.do(chromedp.Click(chromedp.ID("lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="zh-CN"] #verdict`)))
	})

	var recordID string
	phone := newTab(t, e.url) // the parent's phone: its own browser and profile
	t.Run("clerk appends", func(t *testing.T) {
		b.t = t
		b.do(chromedp.Navigate(e.url+"/zh/clerk"), chromedp.WaitVisible(chromedp.ID("apiKey")))
		b.screenshot("signin")
		b.do(chromedp.SendKeys(chromedp.ID("apiKey"), health), chromedp.Submit(chromedp.ID("apiKey")), chromedp.WaitVisible(chromedp.ID("resolve-h")))
		loc := b.eval(`location.href`)
		if strings.Contains(loc, health) || strings.Contains(b.eval(`document.documentElement.outerHTML`), health) {
			t.Fatal("the API key is in the URL or the page")
		}
		cookies, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{e.url}})
		if err != nil {
			t.Fatal(err)
		}
		var session *network.Cookie
		for _, c := range cookies.Cookies {
			if c.Name == "edossier_session" {
				session = c
			}
		}
		if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteStrict || session.Session ||
			session.Expires < float64(time.Now().Add(29*time.Minute).Unix()) || session.Expires > float64(time.Now().Add(31*time.Minute).Unix()) {
			t.Fatalf("session cookie %+v", session)
		}
		if v := b.eval(`document.cookie`); strings.Contains(v, "edossier_session") {
			t.Fatalf("session cookie readable by scripts: %q", v)
		}
		b.screenshot("clerk")

		b.do(chromedp.SendKeys(chromedp.ID("idNumber"), personID(802)), chromedp.Submit(chromedp.ID("idNumber")), chromedp.WaitVisible(chromedp.ID("subject-id")))
		subjectID := b.text("#subject-id")
		if want := e.resolve(health, personID(802)); subjectID != want {
			t.Fatalf("resolved %s, API %s", subjectID, want)
		}
		baby = newCitizen(t, subjectID) // only its subject ID: the key is made in the browser
		birth := []byte("%PDF-1.7 birth medical certificate appended through the portal\n")
		os.WriteFile(filepath.Join(dir, "born.pdf"), birth, 0o600)
		note := `<script>window.__injected = 1</script>新生儿`
		b.do(chromedp.SetValue(chromedp.ID("type"), "birth-medical-certificate"), chromedp.SendKeys(chromedp.ID("note"), note),
			chromedp.SetUploadFiles(chromedp.ID("append-file"), []string{filepath.Join(dir, "born.pdf")}),
			chromedp.Submit(chromedp.ID("append-file")), chromedp.WaitVisible(chromedp.ID("record-status")))
		if st := b.eval(`document.getElementById("record-status").dataset.status`); st != "active" {
			t.Fatalf("appended record status %s", st)
		}
		if got := b.text("#record-note"); got != note {
			t.Fatalf("note shown as %q", got)
		}
		if v := b.eval(`String(window.__injected)`); v != "undefined" {
			t.Fatal("the note's script ran")
		}
		recordID = b.text("#record-id")
		b.screenshot("record")
		r := e.jsonCall("GET", "/v1/records/"+recordID, health, nil)
		expectStatus(t, r, 200)
		var got struct {
			wire.Record
			Note string `json:"note"`
		}
		r.json(t, &got)
		if got.SubjectID != subjectID || got.Note != note || got.Type != "birth-medical-certificate" {
			t.Fatalf("record through the API: %s", r.body)
		}
		c, _, _ := wire.CIDOf(bytes.NewReader(birth))
		if got.CID != c.String() {
			t.Fatalf("stored CID %s, file CID %s", got.CID, c)
		}

		// A forged CSRF token: refused in the page's language with its code, the record
		// stays active.
		b.do(chromedp.SetValue(chromedp.CSS(`#revoke-form input[name="csrf"]`), "forged"),
			chromedp.Submit(chromedp.ID("reason")), chromedp.WaitVisible(chromedp.CSS(".error")))
		if code := b.text(".error code"); code != "forbidden" {
			t.Fatalf("forged CSRF: %s", code)
		}
		r = e.jsonCall("GET", "/v1/records/"+recordID, health, nil)
		if r.json(t, &got); got.Status != "active" {
			t.Fatalf("record after a forged revoke: %s", got.Status)
		}
		b.do(chromedp.Navigate(e.url+"/zh/clerk/dossier/"+subjectID), chromedp.WaitVisible(chromedp.CSS("table.records")))
		b.screenshot("dossier")
		b.do(chromedp.Submit(chromedp.CSS(`.whoami form`)), chromedp.WaitVisible(chromedp.ID("apiKey")))
	})

	t.Run("newborn in the browser", func(t *testing.T) {
		b.t = t
		if recordID == "" {
			t.Skip("no record appended")
		}
		e.t = t
		purpose := "social-insurance-enrolment"
		// The parent's phone (its own browser) makes the device key.
		phone.t = t
		phone.do(chromedp.Navigate(e.url+"/zh/citizen"), chromedp.WaitVisible(chromedp.ID("new-subject")))
		phone.screenshot("citizen-new")
		phone.do(chromedp.SendKeys(chromedp.ID("new-subject"), baby.subjectID), chromedp.Click(chromedp.CSS("#create-key button")),
			chromedp.WaitVisible(chromedp.ID("fingerprint")))
		fp := phone.text("#fingerprint")
		phone.screenshot("citizen-key")
		if strings.Contains(phone.eval(`document.documentElement.outerHTML`), "PRIVATE") {
			t.Fatal("a private key in the page")
		}
		// The identity authority's counter binds it; health may not.
		b.do(chromedp.SendKeys(chromedp.ID("apiKey"), health), chromedp.Submit(chromedp.ID("apiKey")), chromedp.WaitVisible(chromedp.ID("resolve-h")),
			chromedp.Navigate(e.url+"/zh/clerk/bindings?fingerprint="+strings.ReplaceAll(fp, " ", "")), chromedp.WaitVisible(chromedp.CSS(`form.record button`)),
			chromedp.Click(chromedp.CSS(`form.record button`)), chromedp.WaitVisible(chromedp.CSS(".error")))
		if code := b.text(".error code"); code != "forbidden" {
			t.Fatalf("health binding a key: %s", code)
		}
		b.do(chromedp.Submit(chromedp.CSS(`.whoami form`)), chromedp.WaitVisible(chromedp.ID("apiKey")),
			chromedp.SendKeys(chromedp.ID("apiKey"), e.keys.Departments["police"]), chromedp.Submit(chromedp.ID("apiKey")), chromedp.WaitVisible(chromedp.ID("resolve-h")),
			chromedp.Navigate(e.url+"/zh/clerk/bindings?fingerprint="+strings.ReplaceAll(fp, " ", "")), chromedp.WaitVisible(chromedp.CSS(`form.record button`)))
		b.screenshot("bindings")
		b.do(chromedp.Click(chromedp.CSS(`form.record button`)), chromedp.WaitVisible(chromedp.ID("bound-key")))
		b.do(chromedp.Submit(chromedp.CSS(`.whoami form`)), chromedp.WaitVisible(chromedp.ID("apiKey")))

		// The phone sees the dossier and grants social security, after seeing the
		// exact document it signs.
		phone.do(chromedp.Navigate(e.url+"/zh/citizen"), chromedp.WaitVisible(chromedp.CSS("#records tbody tr")))
		phone.screenshot("citizen")
		// Its own file, read with a signed request (logged as a self access first).
		phone.do(chromedp.Click(chromedp.CSS("#records tbody button")), chromedp.WaitVisible(chromedp.CSS("#records tbody a[download]")))
		if got := phone.download(t, chromedp.Click(chromedp.CSS("#records tbody a[download]"))); string(got) != "%PDF-1.7 birth medical certificate appended through the portal\n" {
			t.Fatalf("own file: %q", got)
		}

		// The grant form, by keyboard only: Tab to each field, arrows in the lists, Space
		// on the check box, Enter on the buttons.
		phone.do(chromedp.Click(chromedp.ID("grant-link")), chromedp.WaitVisible(chromedp.ID("grantee")))
		phone.tabTo(`document.activeElement.id === "grantee"`)
		phone.arrowTo(`document.activeElement.value === "SocialSecurityMSP"`)
		phone.tabTo(`document.activeElement.value === "birth-medical-certificate"`)
		phone.do(chromedp.KeyEvent(" "))
		phone.tabTo(`document.activeElement.id === "purpose"`)
		phone.arrowTo(`document.activeElement.value === "` + purpose + `"`)
		phone.tabTo(`document.activeElement.type === "submit"`)
		phone.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("sign-grant")))
		for i := 0; i < 50 && phone.text("#grant-json") == ""; i++ {
			time.Sleep(100 * time.Millisecond)
		}
		shown := phone.text("#grant-json")
		for _, want := range []string{`"grantee": "SocialSecurityMSP"`, `"birth-medical-certificate"`, `"purpose": "` + purpose + `"`, `"subjectId": "` + baby.subjectID + `"`} {
			if !strings.Contains(shown, want) {
				t.Fatalf("the document shown lacks %s:\n%s", want, shown)
			}
		}
		phone.screenshot("grant")
		phone.tabTo(`document.activeElement.id === "sign-grant"`)
		phone.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`.notice`)), chromedp.WaitVisible(chromedp.CSS("#grants li")))
		grantID := phone.eval(`new URL(location.href).searchParams.get("granted")`)
		if !strings.HasPrefix(grantID, "g-") {
			t.Fatalf("grant ID %q", grantID)
		}

		// Social security's clerk reads the file under it.
		b.do(chromedp.SendKeys(chromedp.ID("apiKey"), social), chromedp.Submit(chromedp.ID("apiKey")), chromedp.WaitVisible(chromedp.ID("resolve-h")),
			chromedp.Navigate(e.url+"/zh/clerk/records/"+recordID), chromedp.WaitVisible(chromedp.ID("read-form")),
			chromedp.SendKeys(chromedp.ID("grantId"), grantID), chromedp.SetValue(chromedp.ID("purpose"), purpose))
		got := b.download(t, chromedp.Submit(chromedp.ID("grantId")))
		if !bytes.Equal(got, []byte("%PDF-1.7 birth medical certificate appended through the portal\n")) {
			t.Fatalf("downloaded %q", got)
		}

		// The phone sees the read in its timeline and revokes the grant.
		phone.do(chromedp.Navigate(e.url+"/zh/citizen"), chromedp.WaitVisible(chromedp.CSS(`#timeline li[data-kind="file"][data-record="`+recordID+`"]`)))
		phone.screenshot("citizen-timeline")
		// Key events in the page's language, the attesting authority by its name.
		if ev := phone.text("#key-events"); !strings.Contains(ev, "绑定密钥") || !strings.Contains(ev, "市公安局") || strings.Contains(ev, "attestation:") {
			t.Errorf("key events not shown in Chinese with the authority's name: %q", ev)
		}
		phone.do(chromedp.Click(chromedp.CSS(`button[data-grant="`+grantID+`"]`)), chromedp.WaitVisible(chromedp.CSS("#grants li")),
			chromedp.WaitNotPresent(chromedp.CSS(`button[data-grant="`+grantID+`"]`)))

		// The same read form again (the page is still there): refused, nothing downloaded.
		b.do(chromedp.Submit(chromedp.ID("grantId")), chromedp.WaitVisible(chromedp.CSS(".error")))
		if code := b.text(".error code"); code != "revoked" {
			t.Fatalf("read after the revocation: %s", code)
		}
		b.screenshot("read-refused")
		if entries, _ := os.ReadDir(b.downloads); len(entries) != 1 {
			t.Fatalf("%d downloads, want 1", len(entries))
		}
	})

	var requestID string
	t.Run("consent request in the browser", func(t *testing.T) {
		b.t, phone.t, e.t = t, t, t
		if recordID == "" {
			t.Skip("no record appended")
		}
		purpose := "social-insurance-enrolment"
		// Social security's clerk (still signed in) asks the newborn's dossier for the
		// birth certificate through the desk's form.
		b.do(chromedp.Navigate(e.url+"/zh/clerk/dossier/"+baby.subjectID), chromedp.WaitVisible(chromedp.ID("ask-consent")),
			chromedp.Click(chromedp.ID("ask-consent")), chromedp.WaitVisible(chromedp.ID("request-form")),
			chromedp.Click(chromedp.CSS(`#request-form input[name="type"][value="birth-medical-certificate"]`)),
			chromedp.SetValue(chromedp.ID("r-purpose"), purpose), chromedp.SendKeys(chromedp.ID("r-ref"), "free text"),
			chromedp.Submit(chromedp.ID("r-ref")), chromedp.WaitVisible(chromedp.CSS(".error")))
		// A reference that is free text is refused as a sentence; the form keeps what was typed.
		if code := b.text(".error code"); code != "invalid" || b.eval(`document.getElementById("r-ref").value`) != "free text" ||
			b.eval(`String(document.querySelector('#request-form input[value="birth-medical-certificate"]').checked)`) != "true" {
			t.Fatalf("free-text reference: code %s, form %s", code, b.eval(`document.getElementById("r-ref").value`))
		}
		b.do(chromedp.SetValue(chromedp.ID("r-ref"), "app-2026-0802"), chromedp.Submit(chromedp.ID("r-ref")), chromedp.WaitVisible(chromedp.ID("request-status")))
		if st := b.eval(`document.getElementById("request-status").dataset.status`); st != "pending" {
			t.Fatalf("new request %s", st)
		}
		requestID = strings.TrimPrefix(b.eval(`location.pathname`), "/zh/clerk/requests/")
		grantID := b.text("#request-grant")
		b.screenshot("clerk-request")

		// The phone lists it and shows exactly what it would sign.
		phone.do(chromedp.Navigate(e.url+"/zh/citizen"), chromedp.WaitVisible(chromedp.CSS(`#requests li[data-request="`+requestID+`"] a`)))
		phone.screenshot("citizen-requests")
		phone.do(chromedp.Click(chromedp.CSS(`#requests li[data-request="`+requestID+`"] a`)), chromedp.WaitVisible(chromedp.ID("creq-approve")))
		if got := phone.text(`#creq-parts tr[data-grantee="SocialSecurityMSP"]`); !strings.Contains(got, "出生医学证明") || !strings.Contains(got, "社会保险参保") {
			t.Fatalf("the request's part shown as %q", got)
		}
		if got := phone.eval(`document.getElementById("creq-json").textContent`); !strings.Contains(got, `"grantId": "`+grantID+`"`) {
			t.Fatalf("the document shown is not the request's grant:\n%s", got)
		}
		phone.screenshot("citizen-request")
		// An altered document (one more record type) signed in the page: the ledger
		// refuses it, the page says so in a sentence with the code, no grant exists.
		phone.do(chromedp.Evaluate[chromedp.Void](`(() => { const box = document.getElementById("creq"); const g = JSON.parse(atob(box.dataset.document));
			g.scope.recordTypes.push("marriage-record"); box.dataset.document = btoa(JSON.stringify(g)); })()`),
			chromedp.Click(chromedp.ID("creq-approve")), chromedp.WaitVisible(chromedp.ID("citizen-error")))
		if got := phone.text("#citizen-error"); !strings.Contains(got, "invalid") || !strings.Contains(got, "不一致") {
			t.Fatalf("altered approval shown as %q", got)
		}
		phone.screenshot("citizen-request-altered")
		if r := e.jsonCall("GET", "/v1/records/"+recordID+"/content?grantId="+grantID+"&purpose="+purpose, social, nil); r.status == 200 {
			t.Fatal("a grant exists after the altered approval")
		}
		// The true document, by keyboard: approved, the grant on the ledger.
		phone.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("creq-approve")))
		phone.tabTo(`document.activeElement.id === "creq-approve"`)
		phone.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(".notice")))
		if got := phone.eval(`new URL(location.href).searchParams.get("answer")`); got != "approved" {
			t.Fatalf("answer %s", got)
		}
		// The clerk sees the outcome and reads under the grant (bytes equal).
		b.do(chromedp.Navigate(e.url+"/zh/clerk/requests?subject="+baby.subjectID), chromedp.WaitVisible(chromedp.CSS(`#requests tr[data-request="`+requestID+`"]`)))
		if st := b.eval(`document.querySelector('#requests tr[data-request="` + requestID + `"]').dataset.status`); st != "approved" {
			t.Fatalf("outcome in the list: %s", st)
		}
		b.screenshot("clerk-requests")
		// All the department's requests across subjects, filtered by status on the ledger.
		b.do(chromedp.Navigate(e.url+"/en/clerk/requests?status=approved"), chromedp.WaitVisible(chromedp.CSS(`#sent tr[data-request="`+requestID+`"]`)))
		if n := b.eval(`String(document.querySelectorAll('#sent tr[data-status]:not([data-status="approved"])').length)`); n != "0" {
			t.Fatalf("%s requests of another status in the approved list", n)
		}
		b.screenshot("clerk-requests-sent")
		b.do(chromedp.Navigate(e.url+"/zh/clerk/records/"+recordID), chromedp.WaitVisible(chromedp.ID("read-form")),
			chromedp.SendKeys(chromedp.ID("grantId"), grantID), chromedp.SetValue(chromedp.ID("purpose"), purpose))
		if got := b.download(t, chromedp.Submit(chromedp.ID("grantId"))); string(got) != "%PDF-1.7 birth medical certificate appended through the portal\n" {
			t.Fatalf("read under the approved request: %q", got)
		}

		// A request that lapses while its page is open: refused by the ledger as expired.
		now := time.Now().UTC()
		lapsing := askConsent(t, e, social, baby.subjectID, "g-browser-lapsing", 6*time.Second)
		phone.do(chromedp.Navigate(e.url+"/en/citizen/requests/"+lapsing), chromedp.WaitVisible(chromedp.ID("creq-approve")))
		time.Sleep(time.Until(now.Add(8 * time.Second))) // the ledger's clock is the transaction's: past the expiry
		phone.do(chromedp.Click(chromedp.ID("creq-approve")), chromedp.WaitVisible(chromedp.ID("citizen-error")))
		if got := phone.text("#citizen-error"); !strings.Contains(got, "expired") {
			t.Fatalf("approving a lapsed request shown as %q", got)
		}
		phone.screenshot("citizen-request-expired-en")
		// Declined: the outcome the department sees.
		declined := askConsent(t, e, social, baby.subjectID, "g-browser-declined", time.Hour)
		phone.do(chromedp.Navigate(e.url+"/en/citizen/requests/"+declined), chromedp.WaitVisible(chromedp.ID("creq-decline")))
		phone.screenshot("citizen-request-en")
		phone.do(chromedp.Click(chromedp.ID("creq-decline")), chromedp.WaitVisible(chromedp.CSS(".notice")))
		r := e.jsonCall("GET", "/v1/consent-requests/"+declined, social, nil)
		var outcome wire.ConsentRequest
		if r.json(t, &outcome); outcome.Status != wire.RequestDeclined {
			t.Fatalf("declined request: %s", r.body)
		}
		b.do(chromedp.Navigate(e.url+"/en/clerk/requests/"+declined), chromedp.WaitVisible(chromedp.ID("request-status")))
		if st := b.eval(`document.getElementById("request-status").dataset.status`); st != "declined" {
			t.Fatalf("declined request on the desk: %s", st)
		}
		b.screenshot("clerk-request-en")
		// A whole matter: the desk names the matter only, the gateway fills in its
		// current version's parts; the phone shows every department's part.
		b.do(chromedp.Navigate(e.url+"/en/clerk/requests?subject="+baby.subjectID), chromedp.WaitVisible(chromedp.ID("request-form")),
			chromedp.Click(chromedp.CSS(`#request-form input[name="mode"][value="matter"]`)), chromedp.SetValue(chromedp.ID("r-matter"), "newborn"),
			chromedp.SendKeys(chromedp.ID("r-ref"), "nb-2026-0802"), chromedp.Submit(chromedp.ID("r-ref")), chromedp.WaitVisible(chromedp.ID("request-status")))
		matterReq := strings.TrimPrefix(b.eval(`location.pathname`), "/en/clerk/requests/")
		if b.eval(`String(document.querySelectorAll("#request-parts tbody tr").length >= 2)`) != "true" {
			t.Fatalf("the matter request has %s parts", b.eval(`String(document.querySelectorAll("#request-parts tbody tr").length)`))
		}
		phone.do(chromedp.Navigate(e.url+"/en/citizen/requests/"+matterReq), chromedp.WaitVisible(chromedp.ID("creq-matter")),
			chromedp.WaitVisible(chromedp.CSS(`#creq-parts tr[data-grantee="SocialSecurityMSP"]`)))
		if n := phone.eval(`String(document.querySelectorAll("#creq-parts tbody tr").length)`); n != b.eval(`String(document.querySelectorAll("#request-parts tbody tr").length)`) {
			t.Fatalf("the phone shows %s parts, the desk %s", n, b.eval(`String(document.querySelectorAll("#request-parts tbody tr").length)`))
		}
		phone.screenshot("citizen-request-matter-en")
		phone.do(chromedp.Click(chromedp.ID("creq-decline")), chromedp.WaitVisible(chromedp.CSS(".notice")))
		b.do(chromedp.Submit(chromedp.CSS(`.whoami form`)), chromedp.WaitVisible(chromedp.ID("apiKey")))
	})

	guardian := newTab(t, e.url) // the parent's own phone, with the parent's own key
	var parentID string
	t.Run("guardian in the browser", func(t *testing.T) {
		b.t, guardian.t, e.t = t, t, t
		if requestID == "" {
			t.Skip("no consent request")
		}
		parentID = e.resolve(health, personID(803))
		guardian.do(chromedp.Navigate(e.url+"/zh/citizen"), chromedp.WaitVisible(chromedp.ID("new-subject")),
			chromedp.SendKeys(chromedp.ID("new-subject"), parentID), chromedp.Click(chromedp.CSS("#create-key button")),
			chromedp.WaitVisible(chromedp.ID("fingerprint")))
		fp := strings.ReplaceAll(guardian.text("#fingerprint"), " ", "")
		police := e.keys.Departments["police"]
		b.do(chromedp.SendKeys(chromedp.ID("apiKey"), police), chromedp.Submit(chromedp.ID("apiKey")), chromedp.WaitVisible(chromedp.ID("resolve-h")),
			chromedp.Navigate(e.url+"/zh/clerk/bindings?fingerprint="+fp), chromedp.WaitVisible(chromedp.CSS(`form.record button`)),
			chromedp.Click(chromedp.CSS(`form.record button`)), chromedp.WaitVisible(chromedp.ID("bound-key")))

		// The parent asks to act for the baby as its guardian until its 18th birthday.
		guardian.do(chromedp.Navigate(e.url+"/zh/citizen"), citizenLoaded, chromedp.WaitVisible(chromedp.ID("actfor-form")),
			chromedp.SendKeys(chromedp.ID("actfor-subject"), baby.subjectID), chromedp.SetValue(chromedp.ID("actfor-relation"), "guardian"),
			chromedp.SetValue(chromedp.ID("actfor-ends"), time.Now().AddDate(18, 0, 0).Format("2006-01-02")),
			chromedp.Click(chromedp.CSS("#actfor-form button")),
			chromedp.WaitVisible(chromedp.CSS(`#actfor-list li[data-subject="`+baby.subjectID+`"] code.big`)))
		code := guardian.text(`#actfor-list li[data-subject="` + baby.subjectID + `"] code.big`)
		guardian.screenshot("citizen-actfor")
		// Health may not attest a guardian: refused at the counter, nothing bound.
		b.do(chromedp.Submit(chromedp.CSS(`.whoami form`)), chromedp.WaitVisible(chromedp.ID("apiKey")),
			chromedp.SendKeys(chromedp.ID("apiKey"), health), chromedp.Submit(chromedp.ID("apiKey")), chromedp.WaitVisible(chromedp.ID("resolve-h")),
			chromedp.Navigate(e.url+"/zh/clerk/delegations?code="+strings.ReplaceAll(code, " ", "")), chromedp.WaitVisible(chromedp.CSS(`form.record button`)),
			chromedp.Click(chromedp.CSS(`form.record button`)), chromedp.WaitVisible(chromedp.CSS(".error")))
		if c := b.text(".error code"); c != "forbidden" {
			t.Fatalf("health attesting a guardian: %s", c)
		}
		b.do(chromedp.Submit(chromedp.CSS(`.whoami form`)), chromedp.WaitVisible(chromedp.ID("apiKey")),
			chromedp.SendKeys(chromedp.ID("apiKey"), police), chromedp.Submit(chromedp.ID("apiKey")), chromedp.WaitVisible(chromedp.ID("resolve-h")),
			chromedp.Navigate(e.url+"/zh/clerk/delegations?code="+strings.ReplaceAll(code, " ", "")), chromedp.WaitVisible(chromedp.CSS(`form.record button`)))
		b.screenshot("delegations")
		b.do(chromedp.Click(chromedp.CSS(`form.record button`)), chromedp.WaitVisible(chromedp.ID("bound-delegation")))
		b.do(chromedp.Submit(chromedp.CSS(`.whoami form`)), chromedp.WaitVisible(chromedp.ID("apiKey")))

		// The parent switches to the baby's dossier and approves a request with the
		// parent's own key; the grant says the parent signed it; the parent revokes it.
		asked := askConsent(t, e, social, baby.subjectID, "g-browser-guardian", time.Hour)
		guardian.do(chromedp.Navigate(e.url+"/zh/citizen"), citizenLoaded, chromedp.WaitVisible(chromedp.CSS(`#actfor-list li[data-subject="`+baby.subjectID+`"] a`)),
			chromedp.Click(chromedp.CSS(`#actfor-list li[data-subject="`+baby.subjectID+`"] a`)),
			chromedp.WaitVisible(chromedp.ID("acting")), chromedp.WaitVisible(chromedp.ID("records-delegate")),
			chromedp.WaitVisible(chromedp.CSS(`#requests li[data-request="`+asked+`"] a`)),
			chromedp.WaitVisible(chromedp.CSS("#records tbody tr")), citizenLoaded)
		guardian.screenshot("citizen-acting")
		// The guardian sees the baby's records and downloads the birth certificate: the
		// list and the download are each signed with the parent's key and show in the
		// baby's log as the guardian's reads (kind delegate), never as the baby's own.
		guardian.do(chromedp.Click(chromedp.CSS("#records tbody button")), chromedp.WaitVisible(chromedp.CSS("#records tbody a[download]")))
		if got := guardian.download(t, chromedp.Click(chromedp.CSS("#records tbody a[download]"))); string(got) != "%PDF-1.7 birth medical certificate appended through the portal\n" {
			t.Fatalf("the guardian's download: %q", got)
		}
		guardian.do(chromedp.Reload(), citizenLoaded, chromedp.WaitVisible(chromedp.CSS(`#timeline li[data-kind="delegate"][data-record="`+recordID+`"]`)))
		if d := guardian.eval(`document.querySelector('#timeline li[data-kind="delegate"][data-record="` + recordID + `"]').dataset.delegate`); d != parentID {
			t.Fatalf("the baby's log names %q for the guardian's download, want %s", d, parentID)
		}
		guardian.screenshot("citizen-acting-records")
		guardian.do(chromedp.Click(chromedp.CSS(`#requests li[data-request="`+asked+`"] a`)), chromedp.WaitVisible(chromedp.ID("creq-approve")),
			chromedp.Click(chromedp.ID("creq-approve")), chromedp.WaitVisible(chromedp.CSS(`#grants li[data-grant="g-browser-guardian"]`)))
		if by := guardian.eval(`document.querySelector('#grants li[data-grant="g-browser-guardian"]').dataset.signedBy`); by != parentID {
			t.Fatalf("the approved grant signed by %q, want the guardian %s", by, parentID)
		}
		r := e.jsonCall("GET", "/v1/consent-requests/"+asked, social, nil)
		var outcome wire.ConsentRequest
		if r.json(t, &outcome); outcome.Status != wire.RequestApproved {
			t.Fatalf("the guardian's approval: %s", r.body)
		}
		guardian.screenshot("citizen-acting-granted")
		// The acting view in both languages, checked by axe-core while the relation is
		// live (the accessibility step comes after it ended).
		if src := axeSource(t); src != "" {
			for _, lang := range []string{"zh", "en"} {
				guardian.do(chromedp.Navigate(e.url+"/"+lang+"/citizen?for="+baby.subjectID), chromedp.WaitVisible(chromedp.CSS(`#grants li[data-grant="g-browser-guardian"]`)))
				guardian.axe(src, lang+" acting for the baby")
			}
		}
		guardian.do(chromedp.Click(chromedp.CSS(`button[data-grant="g-browser-guardian"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#grants li[data-grant="g-browser-guardian"]`)), chromedp.WaitNotPresent(chromedp.CSS(`button[data-grant="g-browser-guardian"]`)))
		if r := e.jsonCall("GET", "/v1/records/"+recordID+"/content?grantId=g-browser-guardian&purpose=social-insurance-enrolment", social, nil); r.status == 200 {
			t.Fatal("a read under the grant the guardian revoked")
		}
		// The baby's own page lists who acts for it; the guardian ends the relation
		// from its own page; from then on acting for the baby is refused.
		phone.t = t
		phone.do(chromedp.Navigate(e.url+"/zh/citizen"), chromedp.WaitVisible(chromedp.CSS("#delegate-list li button[data-delegation]")))
		if got := phone.text("#delegate-list li"); !strings.Contains(got, parentID) {
			t.Fatalf("who acts for the baby: %q", got)
		}
		phone.screenshot("citizen-delegates")
		guardian.do(chromedp.Navigate(e.url+"/zh/citizen"), citizenLoaded, chromedp.WaitVisible(chromedp.CSS("#actfor-list button[data-delegation]")),
			chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`), chromedp.Click(chromedp.CSS("#actfor-list button[data-delegation]")),
			chromedp.WaitVisible(chromedp.CSS(`#actfor-list li[data-subject="`+baby.subjectID+`"] code.big`)))
		guardian.do(chromedp.Navigate(e.url+"/zh/citizen?for="+baby.subjectID), chromedp.WaitVisible(chromedp.ID("citizen-error")))
		if got := guardian.text("#citizen-error"); !strings.Contains(got, "forbidden") {
			t.Fatalf("acting after the relation ended: %q", got)
		}
		phone.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#delegate-list li")))
		if n := phone.eval(`String(document.querySelectorAll("#delegate-list li button").length)`); n != "0" {
			t.Fatalf("an ended relation still has an end button (%s)", n)
		}
		// Another subject's dossier: the page refuses as a sentence.
		guardian.do(chromedp.Navigate(e.url+"/en/citizen?for="+e.resolve(health, personID(804))), chromedp.WaitVisible(chromedp.ID("citizen-error")))
		if got := guardian.text("#citizen-error"); !strings.Contains(got, "forbidden") {
			t.Fatalf("acting for a stranger: %q", got)
		}
	})

	tablet := newTab(t, e.url) // a second device of the baby's dossier
	t.Run("second device", func(t *testing.T) {
		phone.t, tablet.t, e.t = t, t, t
		if recordID == "" {
			t.Skip("no record appended")
		}
		tablet.do(chromedp.Navigate(e.url+"/zh/citizen"), chromedp.WaitVisible(chromedp.ID("new-subject")),
			chromedp.SendKeys(chromedp.ID("new-subject"), baby.subjectID), chromedp.Click(chromedp.ID("second-device")),
			chromedp.Click(chromedp.CSS("#create-key button")), chromedp.WaitVisible(chromedp.ID("second-intro")))
		fp := tablet.text("#fingerprint")
		tablet.screenshot("citizen-second-key")
		// Not usable before the first device signs it.
		tablet.do(chromedp.Navigate(e.url+"/zh/citizen"), chromedp.WaitVisible(chromedp.ID("unbound")))
		// A wrong fingerprint finds nothing (a sentence); the right one is countersigned.
		phone.do(chromedp.Navigate(e.url+"/zh/citizen"), citizenLoaded, chromedp.WaitVisible(chromedp.ID("add-device-form")),
			chromedp.SendKeys(chromedp.ID("add-device-fp"), "0000 0000 0000 0000"), chromedp.Click(chromedp.CSS("#add-device-form button")),
			chromedp.WaitVisible(chromedp.ID("citizen-error")))
		if got := phone.text("#citizen-error"); !strings.Contains(got, "not_found") {
			t.Fatalf("a wrong fingerprint: %q", got)
		}
		phone.do(chromedp.SetValue(chromedp.ID("add-device-fp"), fp), chromedp.Click(chromedp.CSS("#add-device-form button")), chromedp.WaitVisible(chromedp.ID("add-device-sign")))
		phone.screenshot("citizen-add-device")
		phone.do(chromedp.Click(chromedp.ID("add-device-sign")), chromedp.WaitVisible(chromedp.CSS(`#device-list li[data-status="active"] button`)), citizenLoaded)
		if n := phone.eval(`String(document.querySelectorAll('#device-list li[data-status="active"]').length)`); n != "2" {
			t.Fatalf("%s active device keys, want 2", n)
		}
		phone.do(chromedp.WaitVisible(chromedp.CSS("#key-events li")))
		if ev := phone.text("#key-events"); !strings.Contains(ev, "添加设备密钥") {
			t.Errorf("key events lack the added key: %q", ev)
		}
		phone.screenshot("citizen-devices")
		// The tablet signs for the dossier now: its records and requests appear.
		tablet.do(chromedp.Navigate(e.url+"/zh/citizen"), citizenLoaded, chromedp.WaitVisible(chromedp.CSS("#records tbody tr")))
		tablet.screenshot("citizen-second-device")
		// The phone removes the tablet's key. The tablet's page is still open: what it
		// signs now (a revocation of a live grant) is refused by the ledger, which checks
		// the document's signature against the active keys; the grant stays.
		phone.do(chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
			chromedp.Click(chromedp.CSS(`#device-list li[data-status="active"] button`)),
			chromedp.WaitVisible(chromedp.CSS(`#device-list li[data-status="removed"]`)), chromedp.WaitVisible(chromedp.CSS("#key-events li")))
		if ev := phone.text("#key-events"); !strings.Contains(ev, "删除设备密钥") {
			t.Errorf("key events lack the removed key: %q", ev)
		}
		live := tablet.eval(`document.querySelector("#grants button[data-grant]").dataset.grant`)
		tablet.do(chromedp.Click(chromedp.CSS(`#grants button[data-grant="`+live+`"]`)), chromedp.WaitVisible(chromedp.ID("citizen-error")))
		if got := tablet.text("#citizen-error"); !strings.Contains(got, "unknown_key") && !strings.Contains(got, "bad_signature") {
			t.Fatalf("a removed key's revocation shown as %q", got)
		}
		phone.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#grants button[data-grant="`+live+`"]`)))
	})

	t.Run("counter ends a delegation and sees recoveries", func(t *testing.T) {
		b.t, phone.t, e.t = t, t, t
		if recordID == "" {
			t.Skip("no record appended")
		}
		counterInBrowser(t, e, b, phone, baby.subjectID)
	})
	t.Run("operator defines matters", func(t *testing.T) {
		b.t, e.t = t, t
		mattersInBrowser(t, e, b)
	})

	t.Run("accessibility", func(t *testing.T) {
		src := axeSource(t)
		if src == "" {
			t.Skip("no axe-core")
		}
		b.t = t
		// The operator's pages need the operator.
		b.do(chromedp.Navigate(e.url+"/zh/clerk/signin"), chromedp.WaitVisible(chromedp.ID("apiKey")))
		b.axe(src, "signin zh")
		// The checker can fail: an image without a text alternative is critical.
		b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("main").append(Object.assign(document.createElement("img"), {src: "/qr/verify/` + rec.Record.CID + `"}))`))
		if v := b.axeViolations(src, "signin with a broken image"); len(v) == 0 || !strings.Contains(strings.Join(v, " "), "image-alt") {
			t.Fatalf("axe-core found no missing alt text: %v", v)
		}
		b.do(chromedp.SendKeys(chromedp.ID("apiKey"), e.keys.Operator), chromedp.Submit(chromedp.ID("apiKey")), chromedp.WaitVisible(chromedp.ID("resolve-h")))
		// The operator issues a verifier key: shown once on the answer page, never in
		// a URL; it is in the key list afterwards (by its ID only).
		b.do(chromedp.Navigate(e.url+"/zh/clerk/admin"), chromedp.WaitVisible(chromedp.ID("form-verifiers")),
			chromedp.SendKeys(chromedp.ID("v-name"), "bank-portal"), chromedp.Submit(chromedp.ID("v-name")), chromedp.WaitVisible(chromedp.ID("issued-key")))
		issued := b.eval(`document.getElementById("issued-key").value`)
		if !strings.HasPrefix(issued, "edk_") || strings.Contains(b.eval(`location.href`), issued) {
			t.Fatalf("issued key %q at %s", issued, b.eval(`location.href`))
		}
		b.screenshot("admin-issued")
		b.axe(src, "admin issued zh")
		b.do(chromedp.Navigate(e.url+"/zh/clerk/admin"), chromedp.WaitVisible(chromedp.ID("api-keys")))
		if page := b.eval(`document.documentElement.outerHTML`); strings.Contains(page, issued) || !strings.Contains(page, "bank-portal") {
			t.Fatal("the issued key is shown again, or missing from the key list")
		}
		for _, q := range b.sent() {
			if strings.Contains(q.URL, issued) {
				t.Fatalf("the issued key in a request URL: %s", q.URL)
			}
		}
		pages := []struct {
			tab  *tab
			path string
		}{
			{b, "/"}, {b, "/verify"}, {b, "/verify/" + rec.Record.CID}, {b, "/verify/" + rec.Record.CID + "/slip"}, {b, "/verify/not-a-cid"},
			{b, "/clerk"}, {b, "/clerk/dossier/" + baby.subjectID}, {b, "/clerk/records/" + recordID}, {b, "/clerk/bindings?fingerprint=0000000000000000"},
			{b, "/clerk/admin"},
		}
		if recordID != "" {
			pages = append(pages, struct {
				tab  *tab
				path string
			}{phone, "/citizen"}, struct {
				tab  *tab
				path string
			}{phone, "/citizen/grant?subjectId=" + baby.subjectID + "&grantee=SocialSecurityMSP&type=birth-medical-certificate&purpose=social-insurance-enrolment&days=30&preview=1"})
		}
		if requestID != "" {
			pages = append(pages, struct {
				tab  *tab
				path string
			}{b, "/clerk/requests?subject=" + baby.subjectID}, struct {
				tab  *tab
				path string
			}{b, "/clerk/requests/" + requestID}, struct {
				tab  *tab
				path string
			}{phone, "/citizen/requests/" + requestID}, struct {
				tab  *tab
				path string
			}{b, "/clerk/delegations?code=0000000000000000"}, struct {
				tab  *tab
				path string
			}{b, "/citizen/key/" + strings.Repeat("ab", 32) + "?second=1"})
		}
		if parentID != "" {
			pages = append(pages, struct {
				tab  *tab
				path string
			}{guardian, "/citizen"})
		}
		for _, lang := range []string{"zh", "en"} {
			for _, pg := range pages {
				pg.tab.t = t
				pg.tab.do(chromedp.Navigate(e.url+"/"+lang+pg.path), chromedp.WaitReady(chromedp.CSS("footer")))
				if pg.tab != b {
					time.Sleep(500 * time.Millisecond) // the module fills the page
				}
				pg.tab.axe(src, lang+pg.path)
			}
		}
		if !t.Failed() {
			t.Logf("axe-core: no serious or critical violation on %d pages", 2*len(pages)+1)
		}
	})

	t.Run("headers on every page", func(t *testing.T) {
		b.mu.Lock()
		docs := append([]*network.Response(nil), b.documents...)
		b.mu.Unlock()
		if len(docs) < 10 {
			t.Fatalf("only %d documents recorded", len(docs))
		}
		for _, d := range docs {
			h := map[string]string{}
			for k, v := range d.Headers {
				h[strings.ToLower(k)] = fmt.Sprint(v)
			}
			if h["content-security-policy"] != web.ContentSecurityPolicy || h["x-frame-options"] != "DENY" {
				t.Errorf("%s: CSP %q, X-Frame-Options %q", d.URL, h["content-security-policy"], h["x-frame-options"])
			}
		}
	})
}

// askConsent has the social security bureau ask subjectID, through the API, for the
// birth certificate under grantID; the request stays open for open. It answers the
// request ID.
func askConsent(t *testing.T, e *env, social, subjectID, grantID string, open time.Duration) string {
	t.Helper()
	now := time.Now().UTC()
	r := e.jsonCall("POST", "/v1/dossiers/"+subjectID+"/consent-requests", social, map[string]any{
		"grant": map[string]any{"grantId": grantID, "subjectId": subjectID, "grantee": "SocialSecurityMSP",
			"scope":   map[string]any{"recordTypes": []string{"birth-medical-certificate"}, "recordIds": []string{}},
			"purpose": "social-insurance-enrolment", "validFrom": wire.FormatTime(now.Add(-time.Minute)), "expiresAt": wire.FormatTime(now.Add(24 * time.Hour))},
		"reference": "app-2026-0803", "expiresAt": wire.FormatTime(now.Add(open))})
	expectStatus(t, r, 201)
	var res struct {
		Request wire.ConsentRequest `json:"request"`
	}
	r.json(t, &res)
	return res.Request.RequestID
}
