package web

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

// A clerk's pages: resolve a subject, append a record with its file, a subject's
// dossier as far as the department may see it, a record with revoke / supersede / read
// forms. Every use case is the service's; the pages only decode forms and show answers.

// appendForm is what a clerk typed in the append (or supersede) form; a refused form is
// shown again with it (a browser never lets a page refill a file field).
type appendForm struct {
	SubjectID  string
	Type       string
	ValidUntil string
	Note       string
}

// names are the registry's display names, for showing codes.
type names struct {
	Types    []wire.RecordType // the ones the clerk's department may issue, for the form
	Purposes []wire.Purpose
	Reasons  []wire.Reason
	type_    map[string]string
	dept     map[string]string
	reason   map[string]string
}

func (n *names) TypeName(code string) string   { return nameOr(n.type_, code) }
func (n *names) DeptName(msp string) string    { return nameOr(n.dept, msp) }
func (n *names) ReasonName(code string) string { return nameOr(n.reason, code) }

func nameOr(m map[string]string, code string) string {
	if v := m[code]; v != "" {
		return v
	}
	return code
}

func (s *Server) names(r *http.Request, p gateway.Principal) (*names, error) {
	reg, err := s.opts.Service.Registry(r.Context(), p)
	if err != nil {
		return nil, err
	}
	n := &names{Purposes: reg.Purposes, Reasons: reg.Reasons, type_: map[string]string{}, dept: map[string]string{}, reason: map[string]string{}}
	accredited := map[string]bool{}
	for _, a := range reg.Accreditations {
		if a.MSPID == p.MSPID && a.Active {
			accredited[a.RecordType] = true
		}
	}
	pg := &page{cat: s.cat[langFrom(r)]}
	for _, t := range reg.RecordTypes {
		t.Name = pg.RegName("type", t.Code, t.Name)
		n.type_[t.Code] = t.Name
		if accredited[t.Code] {
			n.Types = append(n.Types, t)
		}
	}
	for _, d := range reg.Departments {
		n.dept[d.MSPID] = pg.RegName("dept", d.MSPID, d.Name)
	}
	for i, x := range n.Reasons {
		n.Reasons[i].Name = pg.RegName("reason", x.Code, x.Name)
		n.reason[x.Code] = n.Reasons[i].Name
	}
	for i, x := range n.Purposes {
		n.Purposes[i].Name = pg.RegName("purpose", x.Code, x.Name)
	}
	return n, nil
}

type clerkHomeData struct {
	Names     *names
	Kind      string
	IDNumber  string
	SubjectID string // set after a resolve
	Form      appendForm
}

func (s *Server) clerkHome(w http.ResponseWriter, r *http.Request) {
	s.clerkHomeWith(w, r, clerkHomeData{Form: appendForm{SubjectID: r.URL.Query().Get("subject")}}, nil)
}

// clerkHomeWith shows the clerk's home with data (what was typed) and err (a refusal).
func (s *Server) clerkHomeWith(w http.ResponseWriter, r *http.Request, data clerkHomeData, err error) {
	cs := clerkFrom(r)
	n, nerr := s.names(r, cs.principal)
	if nerr != nil && err == nil {
		err = nerr
	}
	if n == nil {
		n = &names{}
	}
	data.Names = n
	if data.Kind == "" {
		data.Kind = "person"
	}
	if err != nil {
		s.failOn(w, r, "clerk", "clerk.title", data, err)
		return
	}
	s.render(w, r, http.StatusOK, "clerk", "clerk.title", data)
}

// resolve derives the subject ID of an ID number. The number comes in the form body
// (never a URL) and is shown again only in the form of this answer.
func (s *Server) resolve(w http.ResponseWriter, r *http.Request) {
	data := clerkHomeData{Kind: r.PostFormValue("kind"), IDNumber: r.PostFormValue("idNumber")}
	id, err := s.opts.Service.ResolveSubject(clerkFrom(r).principal, data.Kind, data.IDNumber)
	if err != nil {
		s.clerkHomeWith(w, r, data, err)
		return
	}
	data.SubjectID = id
	data.IDNumber = ""
	data.Form.SubjectID = id
	s.clerkHomeWith(w, r, data, nil)
}

type dossierData struct {
	SubjectID string
	Records   []wire.Record
	Next      string
	Names     *names
}

func (s *Server) dossier(w http.ResponseWriter, r *http.Request) {
	cs := clerkFrom(r)
	subject := r.PathValue("subjectId")
	if err := service.CheckSubjectID("subjectId", subject); err != nil {
		s.fail(w, r, langFrom(r), err)
		return
	}
	n, err := s.names(r, cs.principal)
	if err != nil {
		s.fail(w, r, langFrom(r), err)
		return
	}
	pg, err := s.opts.Service.ListDossier(r.Context(), cs.principal, subject, "", 50, r.URL.Query().Get("page"))
	if err != nil {
		s.fail(w, r, langFrom(r), err)
		return
	}
	s.render(w, r, http.StatusOK, "dossier", "dossier.title", dossierData{SubjectID: subject, Records: pg.Records, Next: pg.Bookmark, Names: n})
}

// upload is a decoded multipart append or supersede form: its fields, then the file
// part still unread.
type upload struct {
	form     appendForm
	file     *multipart.Part
	fileType string
	idem     string // the form's own key: a second click on submit makes no second record
}

// Form limits: each text field is small; a note is bounded by the ledger's rule
// (service checks wire.MaxNoteBytes), the part by a little more.
const maxFieldBytes = 4 * wire.MaxNoteBytes

// readUpload reads the fields of a multipart form up to its "file" part, which must
// come last (browsers send parts in the form's order). The first part must be the
// session's CSRF token.
func (s *Server) readUpload(w http.ResponseWriter, r *http.Request) (*upload, error) {
	if s.opts.MaxUpload > 0 {
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxUpload+1<<20)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, gateway.Errorf(gateway.CodeInvalid, "expected a multipart form")
	}
	u := &upload{}
	first := true
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return u, gateway.Errorf(gateway.CodeInvalid, "choose a file")
		}
		if err != nil {
			return u, readError(err)
		}
		name := part.FormName()
		if first && name != "csrf" {
			return u, errCSRF
		}
		if name == "file" {
			if part.FileName() == "" {
				return u, gateway.Errorf(gateway.CodeInvalid, "choose a file")
			}
			u.file = part
			u.fileType = part.Header.Get("Content-Type")
			return u, nil
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
		if err != nil {
			return u, readError(err)
		}
		if len(b) > maxFieldBytes {
			return u, gateway.Errorf(gateway.CodeTooLarge, "form field %s too large", name)
		}
		v := string(b)
		switch name {
		case "csrf":
			if !first || !sameToken(v, clerkFrom(r).csrf) {
				return u, errCSRF
			}
		case "subjectId":
			u.form.SubjectID = strings.TrimSpace(v)
		case "type":
			u.form.Type = v
		case "validUntil":
			u.form.ValidUntil = strings.TrimSpace(v)
		case "note":
			u.form.Note = v
		case "idempotencyKey":
			u.idem = v
		default:
			return u, gateway.Errorf(gateway.CodeInvalid, "unexpected form field %q", name)
		}
		first = false
	}
}

func readError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return gateway.Errorf(gateway.CodeTooLarge, "upload larger than %d bytes", mbe.Limit)
	}
	return gateway.Wrap(gateway.CodeInvalid, err, "could not read the form")
}

// input turns an upload into the service's append input. A date (yyyy-mm-dd from the
// date field) means the end of that day in the portal's time zone.
func (s *Server) input(r *http.Request, u *upload) (service.AppendInput, error) {
	in := service.AppendInput{Meta: service.RecordMeta{SubjectID: u.form.SubjectID, Type: u.form.Type, Note: u.form.Note},
		File: u.file, FileMediaType: u.fileType, Length: r.ContentLength, IdempotencyKey: u.idem}
	if in.FileMediaType == "" {
		in.FileMediaType = "application/octet-stream"
	}
	if _, _, err := mime.ParseMediaType(in.FileMediaType); err != nil {
		in.FileMediaType = "application/octet-stream"
	}
	if v := u.form.ValidUntil; v != "" {
		t, err := parseDay(v, s.opts.Location)
		if err != nil {
			return in, gateway.Errorf(gateway.CodeInvalid, "validUntil is not a date")
		}
		in.Meta.ValidUntil = t
	}
	return in, nil
}

func (s *Server) appendRecord(w http.ResponseWriter, r *http.Request) {
	cs := clerkFrom(r)
	u, err := s.readUpload(w, r)
	if err == nil {
		if err = service.CheckSubjectID("subjectId", u.form.SubjectID); err == nil {
			var in service.AppendInput
			if in, err = s.input(r, u); err == nil {
				var res *service.RecordResult
				if res, err = s.opts.Service.AppendRecord(r.Context(), cs.principal, in); err == nil {
					http.Redirect(w, r, "/"+langFrom(r)+"/clerk/records/"+url.PathEscape(res.Record.RecordID)+"?done=appended", http.StatusSeeOther)
					return
				}
			}
		}
	}
	data := clerkHomeData{}
	if u != nil {
		data.Form = u.form
		if errors.Is(err, errCSRF) {
			data.Form = appendForm{}
		}
	}
	s.clerkHomeWith(w, r, data, err)
}

type recordData struct {
	Record  *service.RecordView
	Names   *names
	Link    string
	Own     bool
	Form    appendForm
	Reason  string
	Grant   string
	Purpose string
}

func (s *Server) record(w http.ResponseWriter, r *http.Request) {
	d := recordData{}
	switch r.URL.Query().Get("done") {
	case "appended", "revoked", "superseded":
		d.Form.Note = "" // keep nothing of a finished form
	}
	s.recordWith(w, r, d, nil)
}

// recordWith shows a record page; err (a refusal of one of its forms) is shown above it
// with what was typed.
func (s *Server) recordWith(w http.ResponseWriter, r *http.Request, d recordData, err error) {
	cs := clerkFrom(r)
	l := langFrom(r)
	id := r.PathValue("recordId")
	if verr := wire.ValidateID("recordId", id); verr != nil {
		s.fail(w, r, l, gateway.Errorf(gateway.CodeInvalid, "bad record ID"))
		return
	}
	rec, gerr := s.opts.Service.GetRecord(r.Context(), cs.principal, id)
	if gerr != nil {
		// The record is out of sight (e.g. the grant that showed it was revoked): the
		// refusal of the form, if any, is what the clerk needs to read.
		if err != nil {
			gerr = err
		}
		s.fail(w, r, l, gerr)
		return
	}
	n, nerr := s.names(r, cs.principal)
	if nerr != nil {
		s.fail(w, r, l, nerr)
		return
	}
	d.Record, d.Names, d.Own = rec, n, rec.Issuer == cs.principal.MSPID
	d.Link = s.verifyURL(r, rec.CID)
	p := s.newPage(r, "record.title", nil)
	p.Data = d
	status := http.StatusOK
	if err != nil {
		status, p.Error = s.problem(r, p, err)
	} else if done := r.URL.Query().Get("done"); done != "" && p.cat.has("record.done."+done) {
		p.Notice = p.T("record.done." + done)
	}
	s.renderPage(w, r, status, "record", p)
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	cs := clerkFrom(r)
	id := r.PathValue("recordId")
	reason := r.PostFormValue("reason")
	if _, err := s.opts.Service.RevokeRecord(r.Context(), cs.principal, id, reason); err != nil {
		s.recordWith(w, r, recordData{Reason: reason}, err)
		return
	}
	http.Redirect(w, r, "/"+langFrom(r)+"/clerk/records/"+url.PathEscape(id)+"?done=revoked", http.StatusSeeOther)
}

func (s *Server) supersede(w http.ResponseWriter, r *http.Request) {
	cs := clerkFrom(r)
	id := r.PathValue("recordId")
	u, err := s.readUpload(w, r)
	if err == nil {
		var in service.AppendInput
		if in, err = s.input(r, u); err == nil {
			var res *service.SupersedeResult
			if res, err = s.opts.Service.SupersedeRecord(r.Context(), cs.principal, id, in); err == nil {
				http.Redirect(w, r, "/"+langFrom(r)+"/clerk/records/"+url.PathEscape(res.Record.RecordID)+"?done=superseded", http.StatusSeeOther)
				return
			}
		}
	}
	d := recordData{}
	if u != nil && !errors.Is(err, errCSRF) {
		d.Form = u.form
	}
	s.recordWith(w, r, d, err)
}

// readContent reads a file under a grant: the service commits the access on the
// ledger first, then the file streams as a download.
func (s *Server) readContent(w http.ResponseWriter, r *http.Request) {
	cs := clerkFrom(r)
	id := r.PathValue("recordId")
	grant, purpose := strings.TrimSpace(r.PostFormValue("grantId")), r.PostFormValue("purpose")
	c, err := s.opts.Service.ReadContent(r.Context(), cs.principal, id, grant, purpose)
	if err != nil {
		s.recordWith(w, r, recordData{Grant: grant, Purpose: purpose}, err)
		return
	}
	defer c.Body.Close()
	h := w.Header()
	h.Set("Content-Type", c.Record.MediaType)
	h.Set("Content-Length", strconv.FormatInt(c.Record.Size, 10))
	h.Set("Content-Disposition", `attachment; filename="`+c.Record.RecordID+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Edossier-Access-Tx", c.Receipt.TxID)
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, c.Body); err != nil {
		// Damage found while streaming (the status line is out): abort the connection,
		// so the download is visibly short, never taken for complete.
		panic(http.ErrAbortHandler)
	}
}

func isMultipart(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "multipart/form-data"
}

// parseDay turns a yyyy-mm-dd date into the last nanosecond of that day in loc, as
// RFC 3339 (the form a record's validUntil takes); an RFC 3339 time passes unchanged.
func parseDay(v string, loc *time.Location) (string, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC().Format(time.RFC3339Nano), nil
	}
	d, err := time.ParseInLocation("2006-01-02", v, loc)
	if err != nil {
		return "", err
	}
	return d.AddDate(0, 0, 1).Add(-time.Nanosecond).UTC().Format(time.RFC3339Nano), nil
}
