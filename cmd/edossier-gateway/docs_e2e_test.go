package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

// testAPIDocSupersedeAndRevoke sends the revoke and supersede requests of docs/api.md
// ("Revoke or supersede") with exactly the documented bodies: the supersede answers 201,
// a second supersede of the superseded record 409 conflict, the revoke of the new
// version 200.
func testAPIDocSupersedeAndRevoke(t *testing.T, e *env, health string) {
	subject := e.resolve(health, personID(8))
	r := e.appendRecord(health, subject, "birth-medical-certificate", "", []byte("birth v1"), "")
	expectStatus(t, r, 201)
	var v1 recordResult
	r.json(t, &v1)

	supersede := func(recordID string) *response {
		meta := `{"subjectId":"` + subject + `","type":"birth-medical-certificate","note":"corrected date of birth"}`
		body, ct := multipartBody(t, [3]string{"metadata", "application/json", meta}, [3]string{"file", "application/pdf", "birth v2"})
		return e.do(e.request("POST", "/v1/records/"+recordID+"/supersede", health, body, ct))
	}
	r = supersede(v1.Record.RecordID)
	expectStatus(t, r, 201)
	var res service.SupersedeResult
	r.json(t, &res)
	if res.Superseded.RecordID != v1.Record.RecordID || res.Record.Supersedes != v1.Record.RecordID {
		t.Fatalf("supersede answer: %s", r.body)
	}
	expectProblem(t, supersede(v1.Record.RecordID), http.StatusConflict, gateway.CodeConflict)

	req := e.request("POST", "/v1/records/"+res.Record.RecordID+"/revoke", health, strings.NewReader(`{"reason":"issued-in-error"}`), "application/json")
	expectStatus(t, e.do(req), 200)
}
