package web

import (
	"net/http"
	"strings"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

// The attesting authority's counter, after binding: the delegations its organisation
// attested for a subject (the identity authority's guardians, market regulation's legal
// representatives), with a button that ends a live one, and the key recoveries it
// requested, with a button that completes a pending one. The chaincode decides: only
// the attesting organisation ends a delegation without a signature; a recovery
// completes only after its time lock and never after the subject cancelled it (the
// subject cancels with its own key, on its own page; the counter sees it cancelled).

// attestedData is the subject lookup of the counter's lists.
type attestedData struct {
	Subject     string
	Delegations []attestedDelegation
	Ended       *service.DelegationResult
}

// attestedDelegation is a delegation as the counter lists it: Live is false once it
// was ended or its end date passed (an active status alone does not say so).
type attestedDelegation struct {
	wire.Delegation
	Live bool
}

// withAttested fills the delegations page's list for the ?subject= (or posted) subject.
func (s *Server) withAttested(r *http.Request, d *delegationsData, subject string) error {
	d.Attested.Subject = subject
	if subject == "" {
		return nil
	}
	ds, err := s.opts.Service.AttestedDelegations(r.Context(), clerkFrom(r).principal, subject)
	now := s.opts.Now()
	for _, x := range ds {
		d.Attested.Delegations = append(d.Attested.Delegations, attestedDelegation{Delegation: x, Live: x.LiveAt(now)})
	}
	return err
}

// endDelegation ends a delegation the clerk's organisation attested.
func (s *Server) endDelegation(w http.ResponseWriter, r *http.Request) {
	cs := clerkFrom(r)
	subject, id := strings.TrimSpace(r.PostFormValue("subjectId")), r.PostFormValue("delegationId")
	res, err := s.opts.Service.EndDelegation(r.Context(), cs.principal, subject, id)
	d := delegationsData{}
	if lerr := s.withAttested(r, &d, subject); err == nil {
		err = lerr
	}
	if err != nil {
		s.failOn(w, r, "delegations", "delegations.title", d, err)
		return
	}
	d.Attested.Ended = res
	p := s.newPage(r, "delegations.title", d)
	p.Notice = p.T("delegations.ended")
	s.renderPage(w, r, http.StatusOK, "delegations", p)
}

type recoveriesData struct {
	Subject    string
	Recoveries []wire.KeyRecovery
	Completed  *service.KeyResult
}

func (s *Server) recoveriesWith(w http.ResponseWriter, r *http.Request, subject string, done *service.KeyResult, err error) {
	s.recoveriesFor(w, r, subject, "", done, err)
}

// recoveriesFor shows the list; after a refused completion of recovery `tried` it says
// why in the counter's words (the waiting time, a cancellation).
func (s *Server) recoveriesFor(w http.ResponseWriter, r *http.Request, subject, tried string, done *service.KeyResult, err error) {
	d := recoveriesData{Subject: subject, Completed: done}
	if subject != "" {
		rs, lerr := s.opts.Service.AttestedRecoveries(r.Context(), clerkFrom(r).principal, subject)
		if err == nil {
			err = lerr
		}
		d.Recoveries = rs
	}
	p := s.newPage(r, "recoveries.title", d)
	status := http.StatusOK
	if err != nil {
		status, p.Error = s.problem(r, p, err)
		for _, rec := range d.Recoveries {
			if rec.RecoveryID != tried || tried == "" {
				continue
			}
			switch gateway.ErrorCode(err) {
			case gateway.CodeNotYetValid:
				p.Error.Sentence = p.T("recoveries.err.early", p.Date(rec.EffectiveAt))
			case gateway.CodeConflict:
				p.Error.Sentence = p.T("recoveries.err.closed")
			}
		}
	} else if done != nil {
		p.Notice = p.T("recoveries.done")
	}
	s.renderPage(w, r, status, "recoveries", p)
}

// recoveriesPage lists the recoveries the clerk's organisation requested for a subject.
func (s *Server) recoveriesPage(w http.ResponseWriter, r *http.Request) {
	s.recoveriesWith(w, r, strings.TrimSpace(r.URL.Query().Get("subject")), nil, nil)
}

// completeRecovery makes a pending recovery effective (the ledger refuses before the
// time lock, not_yet_valid, and after a cancellation, conflict). Only a recovery the
// clerk's organisation requested has a button; the ledger would take anyone's.
func (s *Server) completeRecovery(w http.ResponseWriter, r *http.Request) {
	cs := clerkFrom(r)
	subject, id := strings.TrimSpace(r.PostFormValue("subjectId")), r.PostFormValue("recoveryId")
	rs, err := s.opts.Service.AttestedRecoveries(r.Context(), cs.principal, subject)
	if err == nil {
		err = gateway.Errorf(gateway.CodeNotFound, "no recovery %s requested here", id)
		for _, rec := range rs {
			if rec.RecoveryID == id {
				err = nil
			}
		}
	}
	if err != nil {
		s.recoveriesWith(w, r, subject, nil, err)
		return
	}
	res, err := s.opts.Service.CompleteKeyRecovery(r.Context(), subject, id)
	s.recoveriesFor(w, r, subject, id, res, err)
}
