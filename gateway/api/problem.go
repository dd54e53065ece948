// Package api is the gateway's HTTP layer (Gin): routing, authentication, problem+json
// errors, metrics. Handlers are thin: they decode the request, call the service and
// encode the answer.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/edossier-city/edossier/gateway"
)

// Problem is an RFC 9457 problem details object with a stable code.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	Code      string `json:"code"`
	RequestID string `json:"requestId,omitempty"`
}

// statusOf is the one place that maps error codes to HTTP statuses.
func statusOf(code gateway.Code) int {
	switch code {
	case gateway.CodeInvalid, gateway.CodeRawIDNumber:
		return http.StatusBadRequest
	case gateway.CodeUnauthorized, gateway.CodeBadSignature, gateway.CodeStaleSignature, gateway.CodeReplay, gateway.CodeUnknownKey:
		return http.StatusUnauthorized
	case gateway.CodeForbidden, gateway.CodeExpired, gateway.CodeNotYetValid, gateway.CodeRevoked, gateway.CodeOutOfScope:
		return http.StatusForbidden
	case gateway.CodeBadProof:
		return http.StatusUnprocessableEntity
	case gateway.CodeNotFound:
		return http.StatusNotFound
	case gateway.CodeConflict:
		return http.StatusConflict
	case gateway.CodeUnknownMatter:
		return http.StatusUnprocessableEntity
	case gateway.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case gateway.CodeUnsupported:
		return http.StatusUnsupportedMediaType
	case gateway.CodeRateLimited:
		return http.StatusTooManyRequests
	case gateway.CodeUnavailable:
		return http.StatusServiceUnavailable
	case gateway.CodeStorageFull:
		return http.StatusInsufficientStorage
	case gateway.CodeBlobCorrupt:
		return http.StatusInternalServerError
	}
	return http.StatusInternalServerError
}

const problemBase = "https://edossier.example/problems/"

// abort writes err as problem+json and stops the handler chain. Only 5xx are logged as
// errors; the cause of an error is logged, never sent.
func abort(c *gin.Context, err error) {
	code := gateway.ErrorCode(err)
	status := statusOf(code)
	msg := gateway.ErrorMessage(err)
	if status >= 500 && errors.Is(c.Request.Context().Err(), context.Canceled) {
		// The client cancelled or half-closed the request (net/http then cancels its
		// context): what failed is the client's going away, not the gateway, and nobody
		// reads an answer. 499 (nginx's "client closed request"), no body, a warning.
		slog.WarnContext(c.Request.Context(), "client closed the request", "requestId", requestID(c), "route", c.FullPath(), "code", code, "err", err)
		c.Set(logCauseKey, err)
		c.AbortWithStatus(StatusClientClosedRequest)
		return
	}
	if status >= 500 {
		slog.ErrorContext(c.Request.Context(), "request failed", "requestId", requestID(c), "route", c.FullPath(), "code", code, "err", err)
	} else {
		c.Set(logCauseKey, err)
	}
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		secs := retryAfterSeconds
		if d := gateway.RetryAfter(err); d > 0 {
			secs = int((d + time.Second - 1) / time.Second)
		}
		c.Header("Retry-After", strconv.Itoa(secs))
	}
	instance := c.Request.URL.Path
	if code == gateway.CodeRawIDNumber {
		// The path may hold the ID number: never send it back.
		instance = c.FullPath()
	}
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(status, Problem{
		Type:      problemBase + string(code),
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    msg,
		Instance:  instance,
		Code:      string(code),
		RequestID: requestID(c),
	})
}

// StatusClientClosedRequest is the status logged (and, if the connection still takes
// it, sent) when the client went away before the answer: not a server error.
const StatusClientClosedRequest = 499

const (
	retryAfterSeconds = 2
	logCauseKey       = "edossier.cause"
)

func invalid(format string, a ...any) error { return gateway.Errorf(gateway.CodeInvalid, format, a...) }
