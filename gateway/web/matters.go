package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// The operator's matters page: every matter ("get one thing done") with its versions
// and, per version, the departments, record types and purpose of each part; a form
// that defines a new matter or the next version of one. The chaincode checks every
// department, record type and purpose against the registry and numbers the versions;
// the service refuses a version number that is not the latest + 1. After a refusal the
// page says which department, record type or purpose is unknown (looked up in the
// registry it shows), or which version comes next, and keeps what was typed.

// matterRows is how many part rows the form has (a matter of the demo set-up has at
// most five departments).
const matterRows = 6

type matterRow struct {
	Department, Types, Purpose string
}

type matterForm struct {
	Code, Name, Version string
	Rows                []matterRow
}

type mattersData struct {
	Matters [][]wire.Matter // per matter, its versions newest first
	Names   *names
	Form    matterForm
	Depts   []wire.Department
	Types   []wire.RecordType // every defined record type, named in the page's language
	// Defined is the version just defined.
	Defined *wire.Matter
}

func (s *Server) mattersPage(w http.ResponseWriter, r *http.Request) {
	f := matterForm{Version: "1"}
	if code := r.URL.Query().Get("edit"); code != "" {
		// "New version of": the form starts from the latest version's content.
		if m, err := s.opts.Service.Matter(r.Context(), code, 0); err == nil {
			f = formOf(m)
		}
	}
	s.mattersWith(w, r, f, nil, nil)
}

func formOf(m *wire.Matter) matterForm {
	f := matterForm{Code: m.Code, Name: m.Name, Version: strconv.Itoa(m.Version + 1)}
	for _, p := range m.Parts {
		f.Rows = append(f.Rows, matterRow{Department: p.Department, Types: strings.Join(p.RecordTypes, " "), Purpose: p.Purpose})
	}
	return f
}

func (s *Server) mattersWith(w http.ResponseWriter, r *http.Request, f matterForm, defined *wire.Matter, err error) {
	cs := clerkFrom(r)
	if s.opts.Admin == nil {
		s.fail(w, r, langFrom(r), gateway.Errorf(gateway.CodeUnavailable, "operator pages are not configured"))
		return
	}
	if cs.principal.Role != gateway.RoleOperator {
		s.fail(w, r, langFrom(r), gateway.Errorf(gateway.CodeForbidden, "only the platform operator defines matters"))
		return
	}
	n, nerr := s.names(r, cs.principal)
	if nerr != nil {
		s.fail(w, r, langFrom(r), nerr)
		return
	}
	reg, rerr := s.opts.Service.Registry(r.Context(), cs.principal)
	if rerr != nil {
		s.fail(w, r, langFrom(r), rerr)
		return
	}
	for len(f.Rows) < matterRows {
		f.Rows = append(f.Rows, matterRow{})
	}
	d := mattersData{Names: n, Form: f, Depts: reg.Departments, Defined: defined}
	for _, t := range reg.RecordTypes {
		t.Name = n.TypeName(t.Code)
		d.Types = append(d.Types, t)
	}
	latest, lerr := s.opts.Service.Matters(r.Context())
	if lerr != nil {
		s.fail(w, r, langFrom(r), lerr)
		return
	}
	for _, m := range latest {
		vs := []wire.Matter{m}
		for v := m.Version - 1; v >= 1; v-- {
			if old, err := s.opts.Service.Matter(r.Context(), m.Code, v); err == nil {
				vs = append(vs, *old)
			}
		}
		d.Matters = append(d.Matters, vs)
	}
	p := s.newPage(r, "matters.title", d)
	status := http.StatusOK
	if err != nil {
		status, p.Error = s.problem(r, p, err)
		if why := explainMatter(p, reg.Departments, reg.RecordTypes, reg.Purposes, f, latest, err); why != "" {
			p.Error.Sentence = why
		}
	} else if defined != nil {
		p.Notice = p.T("matters.done", defined.Code, defined.Version)
	}
	s.renderPage(w, r, status, "matters", p)
}

// defineMatter defines the matter of the form (the next version, as the form says).
func (s *Server) defineMatter(w http.ResponseWriter, r *http.Request) {
	cs := clerkFrom(r)
	f := matterForm{Code: strings.TrimSpace(r.PostFormValue("code")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Version: strings.TrimSpace(r.PostFormValue("version"))}
	def := wire.MatterDefinition{Code: f.Code, Name: f.Name}
	for i := 0; i < matterRows; i++ {
		k := strconv.Itoa(i)
		row := matterRow{Department: strings.TrimSpace(r.PostFormValue("dept" + k)), Types: strings.TrimSpace(r.PostFormValue("types" + k)),
			Purpose: strings.TrimSpace(r.PostFormValue("purpose" + k))}
		f.Rows = append(f.Rows, row)
		if row == (matterRow{}) {
			continue
		}
		def.Parts = append(def.Parts, wire.MatterPart{Department: row.Department, RecordTypes: splitCodes(row.Types), Purpose: row.Purpose})
	}
	version, err := strconv.Atoi(f.Version)
	if err != nil || version < 1 {
		s.mattersWith(w, r, f, nil, gateway.Errorf(gateway.CodeInvalid, "version must be a positive number"))
		return
	}
	if s.opts.Admin == nil {
		s.fail(w, r, langFrom(r), gateway.Errorf(gateway.CodeUnavailable, "operator pages are not configured"))
		return
	}
	res, err := s.opts.Admin.DefineMatterVersion(r.Context(), cs.principal, def, version)
	if err != nil {
		s.mattersWith(w, r, f, nil, err)
		return
	}
	s.mattersWith(w, r, matterForm{Version: "1"}, &res.Value, nil)
}

// splitCodes splits "a b, c" into its codes.
func splitCodes(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == '，' || r == '、' })
}

// explainMatter names what the ledger or the service refused in a matter form: the
// first department, record type or purpose the registry lacks, or the version that
// comes next ("" when the refusal is of another kind).
func explainMatter(p *page, depts []wire.Department, types []wire.RecordType, purposes []wire.Purpose, f matterForm, latest []wire.Matter, err error) string {
	switch gateway.ErrorCode(err) {
	case gateway.CodeConflict:
		next := 1
		for _, m := range latest {
			if m.Code == f.Code {
				next = m.Version + 1
			}
		}
		if f.Version == strconv.Itoa(next) {
			return p.T("matters.err.same", next-1)
		}
		return p.T("matters.err.version", next)
	case gateway.CodeInvalid:
	default:
		return ""
	}
	if _, err := strconv.Atoi(f.Version); err != nil || f.Version == "0" || strings.HasPrefix(f.Version, "-") {
		return p.T("matters.err.versionNumber")
	}
	active, known, registered := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, d := range depts {
		active[d.MSPID] = d.Active
	}
	for _, t := range types {
		known[t.Code] = true
	}
	for _, x := range purposes {
		registered[x.Code] = true
	}
	for _, row := range f.Rows {
		if row == (matterRow{}) {
			continue
		}
		if !active[row.Department] {
			return p.T("matters.err.department", row.Department)
		}
		for _, t := range splitCodes(row.Types) {
			if !known[t] {
				return p.T("matters.err.type", t)
			}
		}
		if !registered[row.Purpose] {
			return p.T("matters.err.purpose", row.Purpose)
		}
	}
	return ""
}
