package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	gwclient "github.com/edossier-city/edossier/gateway/client"
	"github.com/edossier-city/edossier/network/nettest"
)

// snapshot is what a refused request must not change (temp: staged uploads left in
// the blob store's temporary folder).
type snapshot struct {
	municipal, datashare uint64
	blobs                int
	blobBytes            int64
	temp                 int
}

func (e *env) snapshot() snapshot {
	e.t.Helper()
	gw := e.snap
	var s snapshot
	var err error
	if s.municipal, err = nettest.Height(gw, "municipal"); err != nil {
		e.t.Fatal(err)
	}
	if s.datashare, err = nettest.Height(gw, "datashare"); err != nil {
		e.t.Fatal(err)
	}
	if s.blobs, s.blobBytes, err = e.g.blobs.Usage(); err != nil {
		e.t.Fatal(err)
	}
	if s.temp, err = e.g.blobs.TempFiles(); err != nil {
		e.t.Fatal(err)
	}
	return s
}

func testRefusals(t *testing.T, e *env, health, civil, social string) {
	subject := e.resolve(health, personID(3))
	citizen := newCitizen(t, subject)
	e.bindKey(citizen)
	r := e.appendRecord(health, subject, "birth-medical-certificate", "", []byte("birth"), "")
	expectStatus(t, r, 201)
	var birth recordResult
	r.json(t, &birth)
	r = e.appendRecord(health, subject, "vaccination-record", "", []byte("vaccine"), "")
	expectStatus(t, r, 201)
	var vacc recordResult
	r.json(t, &vacc)
	// Another subject's record, and social's key ID.
	r = e.appendRecord(health, e.resolve(health, personID(4)), "birth-medical-certificate", "Birth certificate", []byte("birth of 4"), "")
	expectStatus(t, r, 201)
	var birthOther recordResult
	r.json(t, &birthOther)
	r = e.jsonCall("GET", "/v1/admin/api-keys", social, nil)
	expectStatus(t, r, 200)
	var socialKeys struct {
		Keys []struct {
			KeyID string `json:"keyId"`
		} `json:"keys"`
	}
	r.json(t, &socialKeys)
	if len(socialKeys.Keys) == 0 {
		t.Fatalf("social's keys: %s", r.body)
	}
	socialKeyID := socialKeys.Keys[0].KeyID
	now := time.Now()
	// A live grant for social covering the birth certificate only, a revoked one, and
	// one that expires in a few seconds.
	mustGrant := func(id string, until time.Time) {
		r := e.do(e.signed(citizen, "POST", "/v1/dossiers/"+subject+"/grants",
			citizen.grant(t, id, "SocialSecurityMSP", "social-insurance-enrolment", []string{"birth-medical-certificate"}, now.Add(-time.Minute), until), time.Now()))
		expectStatus(t, r, 201)
	}
	mustGrant("g-live", now.Add(24*time.Hour))
	mustGrant("g-revoked", now.Add(24*time.Hour))
	r = e.do(e.signed(citizen, "POST", "/v1/grants/g-revoked/revoke", citizen.revocation(t, "g-revoked"), time.Now()))
	expectStatus(t, r, 200)
	mustGrant("g-short", time.Now().Add(4*time.Second))
	time.Sleep(5 * time.Second)

	// A replayable signed request, used once here.
	replay := e.signed(citizen, "GET", "/v1/dossiers/"+subject+"/grants", nil, time.Now())
	expectStatus(t, e.do(replay.Clone(replay.Context())), 200)

	other := newCitizen(t, subject) // same subject ID, key not bound: a forger
	metaOK := `{"type":"vaccination-record"}`
	content := func(recordID, grantID string) string {
		return "/v1/records/" + recordID + "/content?grantId=" + grantID + "&purpose=identity-verification"
	}
	someoneElse := e.resolve(health, personID(4))
	rawID := personID(123) // 110101202611201235
	multipartReq := func(path, key string, parts ...[3]string) *http.Request {
		body, ct := multipartBody(t, parts...)
		return e.request("POST", path, key, body, ct)
	}
	signedRevocation := func(reason string) map[string]string {
		doc := []byte(`{"kind":"edossier.grant-revocation.v1","grantId":"g-live","subjectId":"` + subject + `","issuedAt":"` +
			time.Now().UTC().Format(time.RFC3339) + `","reason":"` + reason + `"}`)
		sig, _ := wire.SignDocument(citizen.key, doc)
		return map[string]string{"revocation": base64.StdEncoding.EncodeToString(doc), "signature": sig}
	}
	cases := []struct {
		name   string
		req    func() *http.Request
		status int
		code   gateway.Code
	}{
		{"no key", func() *http.Request { return e.request("GET", "/v1/records/"+birth.Record.RecordID, "", nil, "") }, 401, gateway.CodeUnauthorized},
		{"wrong key", func() *http.Request {
			return e.request("GET", "/v1/records/"+birth.Record.RecordID, "edk_aaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", nil, "")
		}, 401, gateway.CodeUnauthorized},
		{"not a bearer key", func() *http.Request {
			r := e.request("GET", "/v1/records/"+birth.Record.RecordID, "", nil, "")
			r.Header.Set("Authorization", "Basic Zm9vOmJhcg==")
			return r
		}, 401, gateway.CodeUnauthorized},
		{"department calls operator function", func() *http.Request {
			return jsonReq(e, "POST", "/v1/admin/record-types", health, `{"code":"x","name":"y"}`)
		}, 403, gateway.CodeForbidden},
		{"operator appends a record", func() *http.Request {
			body, ct := multipartBody(t, [3]string{"metadata", "application/json", metaOK}, [3]string{"file", "", "x"})
			return e.request("POST", "/v1/dossiers/"+subject+"/records", e.keys.Operator, body, ct)
		}, 403, gateway.CodeForbidden},
		{"department not accredited for the type", func() *http.Request {
			body, ct := multipartBody(t, [3]string{"metadata", "application/json", metaOK}, [3]string{"file", "", "unaccredited"})
			return e.request("POST", "/v1/dossiers/"+subject+"/records", civil, body, ct)
		}, 403, gateway.CodeForbidden},
		{"department not accredited, upload of unknown length (judged before it is read)", func() *http.Request {
			body, ct := multipartBody(t, [3]string{"metadata", "application/json", metaOK}, [3]string{"file", "", "unaccredited, chunked"})
			return e.request("POST", "/v1/dossiers/"+subject+"/records", civil, io.MultiReader(body), ct) // no Content-Length
		}, 403, gateway.CodeForbidden},
		{"another department's record", func() *http.Request {
			return e.request("GET", "/v1/records/"+birth.Record.RecordID, civil, nil, "")
		}, 404, gateway.CodeNotFound},
		{"revoke another department's record", func() *http.Request {
			return jsonReq(e, "POST", "/v1/records/"+birth.Record.RecordID+"/revoke", civil, `{"reason":"issued-in-error"}`)
		}, 403, gateway.CodeForbidden},
		{"read under an expired grant", func() *http.Request {
			return e.request("GET", content(birth.Record.RecordID, "g-short"), social, nil, "")
		}, 403, gateway.CodeExpired},
		{"read under a revoked grant", func() *http.Request {
			return e.request("GET", content(birth.Record.RecordID, "g-revoked"), social, nil, "")
		}, 403, gateway.CodeRevoked},
		{"read out of scope", func() *http.Request {
			return e.request("GET", content(vacc.Record.RecordID, "g-live"), social, nil, "")
		}, 403, gateway.CodeOutOfScope},
		{"read under another department's grant", func() *http.Request {
			return e.request("GET", content(birth.Record.RecordID, "g-live"), civil, nil, "")
		}, 403, gateway.CodeForbidden},
		{"read without a grant", func() *http.Request {
			return e.request("GET", "/v1/records/"+birth.Record.RecordID+"/content?purpose=identity-verification", social, nil, "")
		}, 400, gateway.CodeInvalid},
		{"forged citizen signature", func() *http.Request {
			// Another key's signature under the keyid of the citizen's active key.
			_, keyID, _ := gwclient.PublicKeyPEM(&citizen.key.PublicKey)
			forged := *other
			forged.subjectID, forged.keyID = subject, keyID
			return e.signed(&forged, "GET", "/v1/dossiers/"+subject+"/access-log", nil, time.Now())
		}, 401, gateway.CodeBadSignature},
		{"signature by a key the subject never had", func() *http.Request {
			return e.signed(other, "GET", "/v1/dossiers/"+subject+"/access-log", nil, time.Now())
		}, 401, gateway.CodeUnknownKey},
		{"stale citizen signature", func() *http.Request {
			return e.signed(citizen, "GET", "/v1/dossiers/"+subject+"/access-log", nil, time.Now().Add(-time.Hour))
		}, 401, gateway.CodeStaleSignature},
		{"replayed citizen signature", func() *http.Request { return replay.Clone(replay.Context()) }, 401, gateway.CodeReplay},
		{"citizen reads another dossier", func() *http.Request {
			return e.signed(citizen, "GET", "/v1/dossiers/"+someoneElse+"/access-log", nil, time.Now())
		}, 403, gateway.CodeForbidden},
		{"grant signed by the wrong key", func() *http.Request {
			body := other.grant(t, "g-forged", "SocialSecurityMSP", "x", []string{"birth-medical-certificate"}, now, now.Add(time.Hour))
			return e.signed(citizen, "POST", "/v1/dossiers/"+subject+"/grants", body, time.Now())
		}, 401, gateway.CodeBadSignature},
		{"replayed grant document", func() *http.Request {
			body := citizen.grant(t, "g-live", "SocialSecurityMSP", "social-insurance-enrolment", []string{"birth-medical-certificate"}, now.Add(-time.Minute), now.Add(24*time.Hour))
			return e.signed(citizen, "POST", "/v1/dossiers/"+subject+"/grants", body, time.Now())
		}, 409, gateway.CodeConflict},
		{"malformed JSON", func() *http.Request { return jsonReq(e, "POST", "/v1/subjects/resolve", health, `{"kind":`) }, 400, gateway.CodeInvalid},
		{"unknown JSON field", func() *http.Request {
			return jsonReq(e, "POST", "/v1/subjects/resolve", health, `{"kind":"person","idNumber":"x","extra":1}`)
		}, 400, gateway.CodeInvalid},
		{"missing fields", func() *http.Request { return jsonReq(e, "POST", "/v1/subjects/resolve", health, `{}`) }, 400, gateway.CodeInvalid},
		{"invalid ID number", func() *http.Request {
			return jsonReq(e, "POST", "/v1/subjects/resolve", health, `{"kind":"person","idNumber":"110101202611200000"}`)
		}, 400, gateway.CodeInvalid},
		{"record metadata missing type", func() *http.Request {
			body, ct := multipartBody(t, [3]string{"metadata", "application/json", `{}`}, [3]string{"file", "", "no type"})
			return e.request("POST", "/v1/dossiers/"+subject+"/records", health, body, ct)
		}, 400, gateway.CodeInvalid},
		// No personal data on the ledger (issue 9): raw ID numbers where a subject ID goes,
		// free text where a code goes. The number is never echoed (checked below).
		{"raw ID number in the path (list)", func() *http.Request {
			return e.request("GET", "/v1/dossiers/"+rawID+"/records", health, nil, "")
		}, 400, gateway.CodeRawIDNumber},
		{"raw ID number in the path (append)", func() *http.Request {
			return multipartReq("/v1/dossiers/"+rawID+"/records", health, [3]string{"metadata", "application/json", metaOK}, [3]string{"file", "", "raw"})
		}, 400, gateway.CodeRawIDNumber},
		{"raw credit code in the path (grants)", func() *http.Request {
			return e.request("GET", "/v1/dossiers/"+rawCredit+"/grants", e.keys.Operator, nil, "")
		}, 400, gateway.CodeRawIDNumber},
		{"raw ID number in the path (access log)", func() *http.Request {
			return e.request("GET", "/v1/dossiers/"+rawID+"/access-log", e.keys.Operator, nil, "")
		}, 400, gateway.CodeRawIDNumber},
		{"raw ID number in the metadata (supersede)", func() *http.Request {
			return multipartReq("/v1/records/"+vacc.Record.RecordID+"/supersede", health,
				[3]string{"metadata", "application/json", `{"subjectId":"` + rawID + `","type":"vaccination-record"}`}, [3]string{"file", "", "raw"})
		}, 400, gateway.CodeRawIDNumber},
		{"raw ID number in a batch manifest", func() *http.Request {
			return multipartReq("/v1/records/batch", health,
				[3]string{"manifest", "application/json", `{"records":[{"file":"f0","subjectId":"` + rawID + `","type":"vaccination-record"}]}`}, [3]string{"f0", "", "raw"})
		}, 400, gateway.CodeRawIDNumber},
		{"raw ID number in a key statement (bind key)", func() *http.Request {
			doc := base64.StdEncoding.EncodeToString([]byte(`{"kind":"edossier.key-bind.v1","subjectId":"` + rawID + `"}`))
			return jsonReq(e, "POST", "/v1/subject-keys/bind", e.keys.Departments["police"], `{"document":"`+doc+`","popSignature":"x"}`)
		}, 400, gateway.CodeRawIDNumber},
		{"not a pseudonym", func() *http.Request { return e.request("GET", "/v1/dossiers/p-someone/records", health, nil, "") }, 400, gateway.CodeInvalid},
		{"a raw chaincode bookmark", func() *http.Request {
			return e.request("GET", "/v1/dossiers/"+subject+"/records?bookmark=%00subject~record%00"+subject+"%00", health, nil, "")
		}, 400, gateway.CodeInvalid},
		{"a forged bookmark", func() *http.Request {
			return e.request("GET", "/v1/dossiers/"+subject+"/access-log?bookmark=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", e.keys.Operator, nil, "")
		}, 400, gateway.CodeInvalid},
		{"personal data in a title", func() *http.Request {
			return multipartReq("/v1/dossiers/"+subject+"/records", health,
				[3]string{"metadata", "application/json", `{"type":"vaccination-record","title":"` + newbornNote + `"}`}, [3]string{"file", "", "titled"})
		}, 400, gateway.CodeInvalid},
		{"personal data in a revocation reason", func() *http.Request {
			return jsonReq(e, "POST", "/v1/records/"+vacc.Record.RecordID+"/revoke", health, `{"reason":"`+newbornNote+`"}`)
		}, 400, gateway.CodeInvalid},
		{"unregistered revocation reason", func() *http.Request {
			return jsonReq(e, "POST", "/v1/records/"+vacc.Record.RecordID+"/revoke", health, `{"reason":"clerk-li-xiaoming-says-so"}`)
		}, 400, gateway.CodeInvalid},
		{"personal data in a grant purpose", func() *http.Request {
			body := citizen.grant(t, "g-pii", "SocialSecurityMSP", "x", []string{"birth-medical-certificate"}, now.Add(-time.Minute), now.Add(time.Hour))
			doc, _ := base64.StdEncoding.DecodeString(body["grant"])
			doc = bytes.Replace(doc, []byte(`"purpose":"x"`), []byte(`"purpose":"`+newbornNote+`"`), 1)
			sig, _ := wire.SignDocument(citizen.key, doc)
			return e.signed(citizen, "POST", "/v1/dossiers/"+subject+"/grants",
				map[string]string{"grant": base64.StdEncoding.EncodeToString(doc), "signature": sig}, time.Now())
		}, 400, gateway.CodeInvalid},
		{"unregistered grant purpose", func() *http.Request {
			body := citizen.grant(t, "g-unregistered", "SocialSecurityMSP", "li-xiaoming-benefits", []string{"birth-medical-certificate"}, now.Add(-time.Minute), now.Add(time.Hour))
			return e.signed(citizen, "POST", "/v1/dossiers/"+subject+"/grants", body, time.Now())
		}, 400, gateway.CodeInvalid},
		{"personal data in a grant-revocation reason", func() *http.Request {
			return e.signed(citizen, "POST", "/v1/grants/g-live/revoke", signedRevocation(personName+" asked"), time.Now())
		}, 400, gateway.CodeInvalid},
		{"unregistered grant-revocation reason", func() *http.Request {
			return e.signed(citizen, "POST", "/v1/grants/g-live/revoke", signedRevocation("li-xiaoming-asked"), time.Now())
		}, 400, gateway.CodeInvalid},
		{"personal data in a read purpose", func() *http.Request {
			return e.request("GET", "/v1/records/"+birth.Record.RecordID+"/content?grantId=g-live&purpose=%E6%9D%8E%E5%B0%8F%E6%98%8E", social, nil, "")
		}, 400, gateway.CodeInvalid},
		{"unregistered read purpose", func() *http.Request {
			return e.request("GET", content(birth.Record.RecordID, "g-live")+"-of-li-xiaoming", social, nil, "")
		}, 400, gateway.CodeInvalid},
		{"file before metadata", func() *http.Request {
			body, ct := multipartBody(t, [3]string{"file", "", "x"}, [3]string{"metadata", "application/json", metaOK})
			return e.request("POST", "/v1/dossiers/"+subject+"/records", health, body, ct)
		}, 400, gateway.CodeInvalid},
		{"invalid CID", func() *http.Request { return e.request("GET", "/v1/verify/QmNotACIDv1", "", nil, "") }, 400, gateway.CodeInvalid},
		{"oversized upload", func() *http.Request {
			body, ct := multipartBody(t, [3]string{"metadata", "application/json", metaOK}, [3]string{"file", "", strings.Repeat("x", 1<<20+1)})
			return e.request("POST", "/v1/dossiers/"+subject+"/records", health, body, ct)
		}, 413, gateway.CodeTooLarge},
		{"oversized verify upload", func() *http.Request {
			var big bytes.Buffer
			big.WriteString(strings.Repeat("y", 3<<20))
			body, ct := multipartBody(t, [3]string{"file", "", big.String()})
			return e.request("POST", "/v1/verify", "", body, ct)
		}, 413, gateway.CodeTooLarge},
		{"wrong content type for JSON", func() *http.Request {
			return e.request("POST", "/v1/subjects/resolve", health, strings.NewReader(`{"kind":"person"}`), "text/plain")
		}, 415, gateway.CodeUnsupported},
		{"anonymous ownership check", func() *http.Request {
			body, ct := multipartBody(t, [3]string{"kind", "", "person"}, [3]string{"idNumber", "", personID(3)}, [3]string{"file", "", "birth"})
			return e.request("POST", "/v1/verify", "", body, ct)
		}, 401, gateway.CodeUnauthorized},
		{"operator ownership check", func() *http.Request {
			body, ct := multipartBody(t, [3]string{"kind", "", "person"}, [3]string{"idNumber", "", personID(3)}, [3]string{"file", "", "birth"})
			return e.request("POST", "/v1/verify", e.keys.Operator, body, ct)
		}, 403, gateway.CodeForbidden},
		{"citizen reads another subject's record", func() *http.Request {
			return e.signed(citizen, "GET", "/v1/records/"+birthOther.Record.RecordID, nil, time.Now())
		}, 404, gateway.CodeNotFound},
		{"citizen reads another subject's file", func() *http.Request {
			return e.signed(citizen, "GET", "/v1/records/"+birthOther.Record.RecordID+"/content", nil, time.Now())
		}, 404, gateway.CodeNotFound},
		{"citizen lists another dossier", func() *http.Request {
			return e.signed(citizen, "GET", "/v1/dossiers/"+birthOther.Record.SubjectID+"/records", nil, time.Now())
		}, 403, gateway.CodeForbidden},
		{"history of another department's record", func() *http.Request {
			return e.request("GET", "/v1/records/"+birth.Record.RecordID+"/history", civil, nil, "")
		}, 404, gateway.CodeNotFound},
		{"department revokes another organisation's key", func() *http.Request {
			return e.request("POST", "/v1/admin/api-keys/"+socialKeyID+"/revoke", health, nil, "")
		}, 403, gateway.CodeForbidden},
		{"department issues a verifier key", func() *http.Request {
			return jsonReq(e, "POST", "/v1/admin/verifiers", health, `{"name":"city-bank"}`)
		}, 403, gateway.CodeForbidden},
		// Strict JSON (issue 10): trailing data, case-folded keys and unknown fields are
		// refused before anything runs, also on operator writes.
		{"operator write with trailing data", func() *http.Request {
			return jsonReq(e, "POST", "/v1/admin/record-types", e.keys.Operator, `{"code":"strict-1","name":"Strict"}] not json`)
		}, 400, gateway.CodeInvalid},
		{"operator write with a second object", func() *http.Request {
			return jsonReq(e, "POST", "/v1/admin/purposes", e.keys.Operator, `{"code":"strict-2","name":"Strict"}{"code":"strict-3","name":"x"}`)
		}, 400, gateway.CodeInvalid},
		{"operator write with a case-folded key", func() *http.Request {
			return jsonReq(e, "POST", "/v1/admin/reasons", e.keys.Operator, `{"CODE":"strict-4","name":"Strict"}`)
		}, 400, gateway.CodeInvalid},
		{"resolve with trailing data", func() *http.Request {
			return jsonReq(e, "POST", "/v1/subjects/resolve", health, `{"kind":"person","idNumber":"`+personID(5)+`"}] not json`)
		}, 400, gateway.CodeInvalid},
		{"revoke with an unknown field", func() *http.Request {
			return jsonReq(e, "POST", "/v1/records/"+birth.Record.RecordID+"/revoke", health, `{"reason":"issued-in-error","why":"x"}`)
		}, 400, gateway.CodeInvalid},
		{"upload metadata with trailing data", func() *http.Request {
			body, ct := multipartBody(t, [3]string{"metadata", "application/json", metaOK + "]"}, [3]string{"file", "", "trailing"})
			return e.request("POST", "/v1/dossiers/"+subject+"/records", health, body, ct)
		}, 400, gateway.CodeInvalid},
		{"wrong content type for upload", func() *http.Request {
			return e.request("POST", "/v1/dossiers/"+subject+"/records", health, strings.NewReader(`{}`), "application/json")
		}, 415, gateway.CodeUnsupported},
	}
	// Path traversal and junk in every path parameter.
	for _, p := range []string{
		"/v1/dossiers/%s/records", "/v1/records/%s", "/v1/records/%s/content?grantId=g-live&purpose=x",
		"/v1/records/%s/revoke", "/v1/dossiers/%s/grants", "/v1/dossiers/%s/access-log", "/v1/grants/%s/revoke",
		"/v1/dossiers/%s/keys", "/v1/dossiers/%s/key-events", "/v1/dossiers/%s/recoveries/r1/cancel", "/v1/verify/%s",
		"/v1/records/%s/history", "/v1/admin/api-keys/%s/revoke",
	} {
		for _, bad := range []string{"..%2F..%2Fetc%2Fpasswd", "..", "a%00b", "%2e%2e"} {
			path := strings.Replace(p, "%s", bad, 1)
			method := "GET"
			if strings.Contains(p, "revoke") || strings.Contains(p, "cancel") {
				method = "POST"
			}
			cases = append(cases, struct {
				name   string
				req    func() *http.Request
				status int
				code   gateway.Code
			}{"traversal " + method + " " + path, func() *http.Request {
				r := e.request(method, "", health, strings.NewReader(`{}`), "application/json")
				r.URL.Opaque = path // send the path exactly as written
				r.URL.RawQuery = ""
				if i := strings.IndexByte(path, '?'); i >= 0 {
					r.URL.Opaque, r.URL.RawQuery = path[:i], path[i+1:]
				}
				return r
			}, 0, ""})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			before := e.snapshot()
			r := e.do(c.req())
			if c.status == 0 { // traversal: any 4xx problem, never a file, never 5xx
				if r.status < 400 || r.status >= 500 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				var p map[string]any
				if err := json.Unmarshal(r.body, &p); err != nil || p["code"] == nil {
					t.Fatalf("not a problem: %s", r.body)
				}
			} else {
				expectProblem(t, r, c.status, c.code)
			}
			for _, raw := range []string{rawID, rawCredit} {
				if bytes.Contains(r.body, []byte(raw)) {
					t.Fatalf("the answer repeats the ID number: %s", r.body)
				}
			}
			if after := e.snapshot(); after != before {
				t.Fatalf("state changed by a refused request: before %+v after %+v", before, after)
			}
		})
	}
}

func jsonReq(e *env, method, path, key, body string) *http.Request {
	return e.request(method, path, key, strings.NewReader(body), "application/json")
}
