package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/httpsig"
	"github.com/edossier-city/edossier/gateway/service"
)

// Keys authenticates API keys.
type Keys interface {
	Authenticate(key string) (gateway.Principal, error)
}

// Ready reports whether Fabric answers (for /readyz).
type Ready func(ctx context.Context) error

// Options configure the HTTP layer.
type Options struct {
	Service *service.Service
	Keys    Keys
	// SubjectKey resolves the active subject key a request signature names (keyid
	// "<subjectId>/<keyId>", see service.KeyRef).
	SubjectKey func(ctx context.Context, keyRef string) (*ecdsa.PublicKey, error)
	Nonces     httpsig.NonceStore
	// SignatureMaxAge bounds how old a signed request may be (and the replay window).
	SignatureMaxAge time.Duration
	Ready           Ready
	// IndexStatus, if set, adds the event-fed index's heights and lag to /readyz
	// (not ready when the index lags more than allowed).
	IndexStatus IndexStatus
	// MaxUpload is the largest file accepted (bytes); 413 above.
	MaxUpload int64
	// VerifyRate and VerifyBurst limit public verification per client IP.
	VerifyRate  rate.Limit
	VerifyBurst int
	// TrustedProxies lists proxies whose X-Forwarded-For is believed (empty: none).
	TrustedProxies []string
	Registry       *prometheus.Registry
	Metrics        *Metrics
	Now            func() time.Time
}

// Server is the gateway's HTTP handler.
type Server struct {
	opts    Options
	engine  *gin.Engine
	svc     *service.Service
	limiter *Limiter
	sigs    *httpsig.Verifier
}

// New builds the router.
func New(o Options) (*Server, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SignatureMaxAge == 0 {
		o.SignatureMaxAge = 5 * time.Minute
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(o.Registry)
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	if err := e.SetTrustedProxies(o.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	e.HandleMethodNotAllowed = true
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.ContextWithFallback = true
	s := &Server{opts: o, engine: e, svc: o.Service, limiter: newLimiter(o.VerifyRate, o.VerifyBurst, e)}
	s.sigs = &httpsig.Verifier{
		KeyFunc: o.SubjectKey,
		MaxAge:  o.SignatureMaxAge,
		MaxSkew: 30 * time.Second,
		Nonces:  o.Nonces,
		Now:     o.Now,
	}
	e.Use(s.requestID, s.observe, s.recover)
	e.NoRoute(func(c *gin.Context) { abort(c, gateway.Errorf(gateway.CodeNotFound, "no such endpoint")) })
	e.NoMethod(func(c *gin.Context) {
		abort(c, &gateway.Error{Code: gateway.CodeInvalid, Message: "method not allowed on this endpoint"})
	})
	s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// Routes lists method and path of every route (the OpenAPI test compares them).
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.engine.Routes() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

func (s *Server) routes() {
	e := s.engine
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", s.readyz)
	if s.opts.Registry != nil {
		e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{})))
	}
	v1 := e.Group("/v1", s.authenticate)
	v1.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", openAPIDocument) })

	// Departments.
	v1.POST("/subjects/resolve", s.resolveSubject)
	v1.POST("/dossiers/:subjectId/records", s.appendRecord)
	v1.POST("/records/batch", s.appendBatch)
	v1.GET("/dossiers/:subjectId/records", s.listDossier)
	v1.GET("/records/:recordId", s.getRecord)
	v1.GET("/records/:recordId/content", s.readContent)
	v1.GET("/records/:recordId/history", s.recordHistory)
	v1.GET("/records/:recordId/proof", s.recordProof)
	v1.POST("/records/:recordId/revoke", s.revokeRecord)
	v1.POST("/records/:recordId/supersede", s.supersedeRecord)
	v1.POST("/batches", s.anchorBatch)
	v1.GET("/batches/:batchId", s.getBatch)
	v1.POST("/batch-records/revoke", s.revokeBatchRecord)
	v1.POST("/batch-records/content", s.readBatchContent)
	v1.POST("/batch-records/supersede", s.supersedeBatchRecord)

	// Verifiers (public, rate-limited).
	v1.POST("/verify", s.rateLimit, s.verifyFile)
	v1.GET("/verify/:cid", s.rateLimit, s.verifyCID)
	v1.POST("/batch-records/verify", s.rateLimit, s.verifyBatchRecord)

	// Matters ("get one thing done"), public.
	v1.GET("/matters", s.listMatters)
	v1.GET("/matters/:code", s.getMatter)

	// Citizens.
	v1.POST("/dossiers/:subjectId/grants", s.createGrant)
	v1.GET("/dossiers/:subjectId/grants", s.listGrants)
	v1.POST("/grants/:grantId/revoke", s.revokeGrant)
	v1.GET("/dossiers/:subjectId/access-log", s.accessLog)
	v1.GET("/dossiers/:subjectId/keys", s.listSubjectKeys)
	v1.POST("/dossiers/:subjectId/keys", s.addSubjectKey)
	v1.POST("/dossiers/:subjectId/keys/:keyId/remove", s.removeSubjectKey)
	v1.GET("/dossiers/:subjectId/key-events", s.keyEvents)
	v1.POST("/dossiers/:subjectId/recoveries/:recoveryId/cancel", s.cancelKeyRecovery)
	v1.POST("/dossiers/:subjectId/recoveries/:recoveryId/complete", s.completeKeyRecovery)

	// Identity authority (a department API key of an identity-authority organisation).
	v1.POST("/subject-keys/bind", s.bindSubjectKey)
	v1.POST("/subject-keys/recoveries", s.requestKeyRecovery)
	v1.POST("/delegations", s.bindDelegation)
	v1.POST("/dossiers/:subjectId/consent-requests", s.requestConsent)
	v1.GET("/dossiers/:subjectId/consent-requests", s.listConsentRequests)
	v1.GET("/consent-requests", s.myConsentRequests)
	v1.GET("/consent-requests/:requestId", s.getConsentRequest)
	v1.POST("/consent-requests/:requestId/approve", s.approveConsentRequest)
	v1.POST("/consent-requests/:requestId/decline", s.declineConsentRequest)
	v1.GET("/dossiers/:subjectId/delegations", s.listDelegations)
	v1.POST("/dossiers/:subjectId/delegations/:delegationId/revoke", s.revokeDelegation)

	// Operator.
	v1.GET("/admin/registry", s.registry)
	v1.POST("/admin/departments", s.registerDepartment)
	v1.POST("/admin/departments/:mspId/deactivate", s.deactivateDepartment)
	v1.POST("/admin/record-types", s.defineRecordType)
	v1.POST("/admin/accreditations", s.accredit)
	v1.POST("/admin/accreditations/revoke", s.unaccredit)
	v1.POST("/admin/matters", s.defineMatter)
	v1.POST("/admin/purposes", s.definePurpose)
	v1.POST("/admin/reasons", s.defineReason)
	v1.POST("/admin/users", s.createUser)
	v1.POST("/admin/verifiers", s.createVerifier)
	v1.GET("/admin/api-keys", s.listAPIKeys)
	v1.POST("/admin/api-keys/:keyId/revoke", s.revokeAPIKey)
}

// Middleware.

const requestIDKey = "edossier.requestId"

func requestID(c *gin.Context) string { return c.GetString(requestIDKey) }

func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if !saneRequestID(id) {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Set(requestIDKey, id)
	c.Header("X-Request-Id", id)
	c.Next()
}

// observe logs one line per request and records metrics by route and status. Routes
// are the route templates ("unmatched" for none) and methods are bounded (see
// Metrics.request), so neither grows with what clients send. A stream aborted by
// http.ErrAbortHandler is still logged and counted, then the abort goes on.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	defer func() {
		r := recover()
		s.logRequest(c, start, r != nil)
		if r != nil {
			panic(r)
		}
	}()
	c.Next()
}

func (s *Server) logRequest(c *gin.Context, start time.Time, aborted bool) {
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	d := time.Since(start)
	s.opts.Metrics.request(route, c.Request.Method, status, d)
	attrs := []any{"requestId", requestID(c), "method", c.Request.Method, "route", route, "status", status,
		"duration", d.Round(time.Microsecond).String(), "bytes", c.Writer.Size()}
	if aborted {
		attrs = append(attrs, "aborted", true)
	}
	if tx := c.GetString(txKey); tx != "" {
		attrs = append(attrs, "txId", tx)
	}
	if p, ok := c.Get(principalKey); ok {
		pr := p.(gateway.Principal)
		attrs = append(attrs, "role", pr.Role, "org", pr.Org)
		if pr.KeyID != "" {
			attrs = append(attrs, "keyId", pr.KeyID)
		}
		if pr.Verifier != "" {
			attrs = append(attrs, "verifier", pr.Verifier)
		}
	}
	if cause, ok := c.Get(logCauseKey); ok {
		attrs = append(attrs, "cause", fmt.Sprint(cause))
	}
	slog.InfoContext(c.Request.Context(), "request", attrs...)
}

// recover turns a panic into a 500 problem.
func (s *Server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			abort(c, gateway.Wrap(gateway.CodeInternal, fmt.Errorf("panic: %v", r), "internal error"))
		}
	}()
	c.Next()
}

const (
	principalKey = "edossier.principal"
	txKey        = "edossier.txId"
)

func principal(c *gin.Context) gateway.Principal {
	if p, ok := c.Get(principalKey); ok {
		return p.(gateway.Principal)
	}
	return gateway.Principal{Role: gateway.RolePublic}
}

// authenticate resolves the caller: an API key (Authorization: Bearer), a citizen's
// HTTP message signature (Signature-Input / Signature), or nobody (public).
func (s *Server) authenticate(c *gin.Context) {
	auth := c.GetHeader("Authorization")
	switch {
	case auth != "":
		key, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || key == "" {
			abort(c, gateway.Errorf(gateway.CodeUnauthorized, "use Authorization: Bearer <api key>"))
			return
		}
		p, err := s.opts.Keys.Authenticate(key)
		if err != nil {
			abort(c, err)
			return
		}
		c.Set(principalKey, p)
	case c.GetHeader("Signature-Input") != "" || c.GetHeader("Signature") != "":
		ref, err := s.sigs.Verify(c.Request)
		if err != nil {
			abort(c, signatureError(err))
			return
		}
		subjectID, keyID, err := service.ParseKeyRef(ref)
		if err != nil {
			abort(c, err)
			return
		}
		c.Set(principalKey, gateway.Principal{Role: gateway.RoleCitizen, SubjectID: subjectID, KeyID: keyID})
	default:
		c.Set(principalKey, gateway.Principal{Role: gateway.RolePublic})
	}
	c.Next()
}

// signatureError maps request-signature failures to codes.
func signatureError(err error) error {
	var ge *gateway.Error
	if errors.As(err, &ge) {
		return err
	}
	switch {
	case errors.Is(err, httpsig.ErrBodyTooLarge):
		return gateway.Wrap(gateway.CodeTooLarge, err, "signed request body too large")
	case errors.Is(err, httpsig.ErrNonceStoreFull):
		return gateway.Wrap(gateway.CodeUnavailable, err, "too many signed requests in flight; retry later")
	case errors.Is(err, httpsig.ErrStale):
		return gateway.Wrap(gateway.CodeStaleSignature, err, "the request signature is too old or from the future")
	case errors.Is(err, httpsig.ErrReplay):
		return gateway.Wrap(gateway.CodeReplay, err, "this signed request was seen before")
	case errors.Is(err, httpsig.ErrUnknownKey):
		return gateway.Wrap(gateway.CodeUnknownKey, err, "no key is bound to the signing subject")
	case errors.Is(err, httpsig.ErrBadSignature), errors.Is(err, httpsig.ErrDigestMismatch):
		return gateway.Wrap(gateway.CodeBadSignature, err, "the request signature does not verify")
	}
	return gateway.Wrap(gateway.CodeUnauthorized, err, "invalid request signature: %v", err)
}

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 5*time.Second)
	defer cancel()
	if s.opts.Ready != nil {
		if err := s.opts.Ready(ctx); err != nil {
			abort(c, gateway.Wrap(gateway.CodeUnavailable, err, "Fabric is not reachable"))
			return
		}
	}
	if s.opts.IndexStatus != nil {
		st, ready := s.opts.IndexStatus(ctx)
		if !ready {
			c.Header("Content-Type", "application/problem+json")
			c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"type": "about:blank", "title": "Service Unavailable", "status": http.StatusServiceUnavailable,
				"code": "unavailable", "detail": "the index lags behind the ledger", "index": st})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready", "index": st})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

// rateLimit limits public verification per client IP.
func (s *Server) rateLimit(c *gin.Context) {
	if !s.limiter.allow(c.ClientIP()) {
		abort(c, gateway.Errorf(gateway.CodeRateLimited, "too many verification requests; slow down"))
		return
	}
	c.Next()
}
