package main

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

// The counter's and the operator's last pages, driven in TestPortalInBrowser's
// browser on its network (b: the desk's tab, signed out; phone: the baby's own device).

// counterInBrowser: the identity authority lists the relations it attested for the
// baby (the guardian's, ended by the guardian, and a second one bound through the
// API) and ends the live one; from then on that delegate is refused. Another
// department lists nothing. A recovery the counter requested in the baby's name is
// pending: completing it before its time lock is refused as a sentence; the baby's
// phone cancels it; the counter sees it cancelled, without a button. Both languages,
// axe-core clean, screenshots.
func counterInBrowser(t *testing.T, e *env, b, phone *tab, babyID string) {
	health, police := e.keys.Departments["health"], e.keys.Departments["police"]
	second := newCitizen(t, e.resolve(health, personID(805)))
	e.bindKey(second)
	now := time.Now()
	doc, _ := wire.Marshal(wire.DelegationStatement{Kind: wire.DelegationKind, SubjectID: babyID, DelegateID: second.subjectID,
		Relation: wire.RelationGuardian, EndsAt: wire.FormatTime(now.AddDate(18, 0, 0)), IssuedAt: wire.FormatTime(now), Nonce: "browser-counter-000001"})
	sig, _ := wire.SignDocument(second.key, doc)
	r := e.jsonCall("POST", "/v1/delegations", police, map[string]string{"document": base64.StdEncoding.EncodeToString(doc), "signature": sig})
	expectStatus(t, r, 201)
	var bound service.DelegationResult
	r.json(t, &bound)
	id := bound.Delegation.DelegationID
	expectStatus(t, e.do(e.signed(second, "GET", "/v1/dossiers/"+babyID+"/delegations", nil, time.Now())), 200)

	signin := func(key string) {
		b.do(chromedp.Navigate(e.url+"/zh/clerk/signin"), chromedp.WaitVisible(chromedp.ID("apiKey")),
			chromedp.SendKeys(chromedp.ID("apiKey"), key), chromedp.Submit(chromedp.ID("apiKey")), chromedp.WaitVisible(chromedp.ID("resolve-h")))
	}
	signout := func() {
		b.do(chromedp.Submit(chromedp.CSS(`.whoami form`)), chromedp.WaitVisible(chromedp.ID("apiKey")))
	}
	// Health attested nothing: its list is empty, it has no button to press.
	signin(health)
	b.do(chromedp.Navigate(e.url+"/zh/clerk/delegations?subject="+babyID), chromedp.WaitVisible(chromedp.ID("attested")))
	if n := b.eval(`String(document.querySelectorAll("#attested article[data-delegation]").length)`); n != "0" {
		t.Fatalf("health lists %s relations it did not attest", n)
	}
	signout()

	signin(police)
	b.do(chromedp.Navigate(e.url+"/zh/clerk"), chromedp.WaitVisible(chromedp.CSS(`a[href="/zh/clerk/recoveries"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/zh/clerk/delegations"]`)), chromedp.WaitVisible(chromedp.ID("att-subject")),
		chromedp.SendKeys(chromedp.ID("att-subject"), babyID), chromedp.Submit(chromedp.ID("att-subject")),
		chromedp.WaitVisible(chromedp.CSS(`#attested article[data-delegation="`+id+`"] button`)))
	if n := b.eval(`String(document.querySelectorAll('#attested article[data-status="revoked"]').length)`); n != "1" {
		t.Fatalf("%s ended relations listed, want the guardian's one", n)
	}
	b.screenshot("counter-delegations")
	b.do(chromedp.Click(chromedp.CSS(`#attested article[data-delegation="`+id+`"] button`)), chromedp.WaitVisible(chromedp.ID("ended-delegation")),
		chromedp.WaitVisible(chromedp.CSS(`#attested article[data-delegation="`+id+`"][data-status="revoked"]`)))
	if n := b.eval(`String(document.querySelectorAll("#attested button").length)`); n != "0" {
		t.Fatalf("%s end buttons after the last live relation ended", n)
	}
	b.screenshot("counter-delegation-ended")
	expectProblem(t, e.do(e.signed(second, "GET", "/v1/dossiers/"+babyID+"/delegations", nil, time.Now())), 403, gateway.CodeForbidden)
	var ended []wire.Delegation
	r = e.jsonCall("GET", "/v1/dossiers/"+babyID+"/delegations", e.keys.Operator, nil)
	var list struct {
		Delegations []wire.Delegation `json:"delegations"`
	}
	r.json(t, &list)
	for _, d := range list.Delegations {
		if d.DelegationID == id {
			ended = append(ended, d)
		}
	}
	if len(ended) != 1 || ended[0].Status != wire.DelegationRevoked || !strings.HasPrefix(ended[0].RevokedBy, "authority:") {
		t.Fatalf("the ended relation on the ledger: %s", r.body)
	}

	// A recovery in the baby's name, requested at this counter through the API.
	r = e.jsonCall("POST", "/v1/subject-keys/recoveries", police, keyRequest(t, wire.KeyRecoveryKind, newCitizen(t, babyID)))
	expectStatus(t, r, 201)
	var rec service.RecoveryResult
	r.json(t, &rec)
	rid := rec.Recovery.RecoveryID
	b.do(chromedp.Navigate(e.url+"/zh/clerk/recoveries"), chromedp.WaitVisible(chromedp.ID("rec-subject")),
		chromedp.SendKeys(chromedp.ID("rec-subject"), babyID), chromedp.Submit(chromedp.ID("rec-subject")),
		chromedp.WaitVisible(chromedp.CSS(`#recoveries article[data-recovery="`+rid+`"][data-status="pending"] button`)))
	b.screenshot("counter-recoveries")
	b.do(chromedp.Click(chromedp.CSS(`#recoveries article[data-recovery="`+rid+`"] button`)), chromedp.WaitVisible(chromedp.CSS(".error")))
	if c := b.text(".error code"); c != string(gateway.CodeNotYetValid) {
		t.Fatalf("completing before the time lock: %s", c)
	}
	if s := b.text(".error p"); !strings.HasPrefix(s, "等待期未满：此找回最早于 ") {
		t.Fatalf("the sentence for completing early: %q", s)
	}
	b.screenshot("counter-recovery-early")
	// The baby's phone sees the recovery it did not ask for and cancels it.
	phone.t = t
	phone.do(chromedp.Navigate(e.url+"/zh/citizen"), citizenLoaded, chromedp.WaitVisible(chromedp.CSS("#recoveries li button")),
		chromedp.Click(chromedp.CSS("#recoveries li button")), chromedp.WaitNotPresent(chromedp.CSS("#recoveries li button")))
	b.do(chromedp.Navigate(e.url+"/en/clerk/recoveries?subject="+babyID),
		chromedp.WaitVisible(chromedp.CSS(`#recoveries article[data-recovery="`+rid+`"][data-status="cancelled"]`)))
	if n := b.eval(`String(document.querySelectorAll("#recoveries button").length)`); n != "0" {
		t.Fatalf("a cancelled recovery still has a button (%s)", n)
	}
	if got := b.text(`#recoveries article[data-recovery="` + rid + `"]`); !strings.Contains(got, "cancelled by the citizen") {
		t.Fatalf("the cancelled recovery reads %q", got)
	}
	b.screenshot("counter-recoveries-en")
	if src := axeSource(t); src != "" {
		for _, lang := range []string{"zh", "en"} {
			for _, path := range []string{"/clerk/delegations?subject=" + babyID, "/clerk/recoveries?subject=" + babyID} {
				b.do(chromedp.Navigate(e.url+"/"+lang+path), chromedp.WaitReady(chromedp.CSS("footer")))
				b.axe(src, lang+path)
			}
		}
	}
	signout()
}

// mattersInBrowser: the operator defines a matter through the form: an unknown
// department is refused with the sentence naming it and the form keeps what was
// typed; corrected, version 1 is on the ledger; "new version" fills the form with
// version 2; the same content again, or version 1 again, is refused with the sentence
// for it; a second record type makes version 2; the list shows both versions, the
// English page too. Axe-core clean in both languages, screenshots.
func mattersInBrowser(t *testing.T, e *env, b *tab) {
	b.do(chromedp.Navigate(e.url+"/zh/clerk/signin"), chromedp.WaitVisible(chromedp.ID("apiKey")),
		chromedp.SendKeys(chromedp.ID("apiKey"), e.keys.Operator), chromedp.Submit(chromedp.ID("apiKey")), chromedp.WaitVisible(chromedp.ID("resolve-h")),
		chromedp.Click(chromedp.CSS(`a[href="/zh/clerk/matters"]`)), chromedp.WaitVisible(chromedp.ID("matter-form")),
		chromedp.WaitVisible(chromedp.CSS(`article[data-matter="newborn"]`)))
	b.screenshot("matters")
	// next marks the page, runs steps that load another, and waits until it is gone (so
	// that what follows reads the new page, not the last one's refusal).
	next := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		b.do(chromedp.Evaluate[chromedp.Void](`document.body.dataset.stale = "1"`))
		b.do(steps...)
		b.do(chromedp.WaitNotPresent(chromedp.CSS("body[data-stale]")), chromedp.WaitReady(chromedp.CSS("footer")))
	}
	submit := func() { next(chromedp.Click(chromedp.CSS("#matter-form button[type=submit]"))) }
	refused := func(code, sentence string) {
		t.Helper()
		b.do(chromedp.WaitVisible(chromedp.CSS(".error")))
		if c, s := b.text(".error code"), b.text(".error p"); c != code || s != sentence {
			t.Fatalf("refusal %s %q, want %s %q", c, s, code, sentence)
		}
	}
	b.do(chromedp.SendKeys(chromedp.ID("m-code"), "browser-matter"), chromedp.SendKeys(chromedp.ID("m-name"), "浏览器测试事项"),
		chromedp.SendKeys(chromedp.ID("m-dept0"), "TaxMSP"), chromedp.SendKeys(chromedp.ID("m-types0"), "birth-medical-certificate"),
		chromedp.SendKeys(chromedp.ID("m-purpose0"), "social-insurance-enrolment"))
	submit()
	refused("invalid", "TaxMSP 不是已登记的在用部门。")
	if v := b.eval(`document.getElementById("m-name").value + "|" + document.getElementById("m-types0").value`); v != "浏览器测试事项|birth-medical-certificate" {
		t.Fatalf("the refused form kept %q", v)
	}
	b.screenshot("matters-refused")
	b.do(chromedp.SetValue(chromedp.ID("m-dept0"), "SocialSecurityMSP"))
	submit()
	b.do(chromedp.WaitVisible(chromedp.ID("defined-matter")), chromedp.WaitVisible(chromedp.CSS(`article[data-matter="browser-matter"][data-version="1"]`)))
	next(chromedp.Click(chromedp.CSS(`article[data-matter="browser-matter"] a`)))
	if v := b.eval(`document.getElementById("m-version").value + "|" + document.getElementById("m-dept0").value`); v != "2|SocialSecurityMSP" {
		t.Fatalf("the new-version form starts as %q", v)
	}
	submit()
	refused("conflict", "内容没有变化：第 1 版已是这些内容。")
	b.do(chromedp.SetValue(chromedp.ID("m-version"), "1"), chromedp.SetValue(chromedp.ID("m-types0"), "birth-medical-certificate household-register"))
	submit()
	refused("conflict", "版本号没有接在最新版本之后：下一个版本是 2。")
	b.do(chromedp.SetValue(chromedp.ID("m-version"), "2"))
	submit()
	b.do(chromedp.WaitVisible(chromedp.ID("defined-matter")), chromedp.WaitVisible(chromedp.CSS(`article[data-matter="browser-matter"][data-version="2"] table[data-version="1"]`)))
	r := e.jsonCall("GET", "/v1/matters/browser-matter", "", nil)
	var m wire.Matter
	if r.json(t, &m); m.Version != 2 || len(m.Parts) != 1 || len(m.Parts[0].RecordTypes) != 2 {
		t.Fatalf("the matter on the ledger: %s", r.body)
	}
	b.do(chromedp.Navigate(e.url+"/en/clerk/matters"), chromedp.WaitVisible(chromedp.CSS(`article[data-matter="browser-matter"]`)))
	if got := b.text(`article[data-matter="browser-matter"]`); !strings.Contains(got, "Version 2") || !strings.Contains(got, "Version 1") {
		t.Fatalf("the English list: %q", got)
	}
	b.screenshot("matters-en")
	if src := axeSource(t); src != "" {
		for _, lang := range []string{"zh", "en"} {
			b.do(chromedp.Navigate(e.url+"/"+lang+"/clerk/matters"), chromedp.WaitReady(chromedp.CSS("footer")))
			b.axe(src, lang+" matters")
		}
	}
	b.do(chromedp.Submit(chromedp.CSS(`.whoami form`)), chromedp.WaitVisible(chromedp.ID("apiKey")))
}
