// Package client is a Go client of the e-dossier gateway's REST API, used by edossierctl
// and the benchmarks. Errors from the gateway come back as *Problem (RFC 9457 with the
// stable code); transport failures as ordinary errors.
package client

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/edossier-city/edossier/gateway/httpsig"
	"github.com/edossier-city/edossier/gateway/service"
)

// Client talks to one gateway as one caller: a department/operator API key, a citizen
// key (requests signed with RFC 9421), or nobody (public verification).
type Client struct {
	// BaseURL is the gateway's address, e.g. http://127.0.0.1:8080.
	BaseURL string
	// APIKey, if set, is sent as Authorization: Bearer.
	APIKey string
	// SubjectID and SubjectKey, if set, sign every request as that citizen (keyid
	// "<subjectId>/<keyId>" of the key).
	SubjectID  string
	SubjectKey *ecdsa.PrivateKey
	// HTTP is the HTTP client (nil: one with a 10-minute timeout).
	HTTP *http.Client
	// Now is the clock used for signatures (nil: time.Now).
	Now func() time.Time
}

// Problem is an error answer of the gateway.
type Problem struct {
	Status    int    `json:"status"`
	Code      string `json:"code"`
	Title     string `json:"title"`
	Detail    string `json:"detail"`
	RequestID string `json:"requestId"`
}

func (p *Problem) Error() string {
	return fmt.Sprintf("%s (%d %s): %s", p.Code, p.Status, p.Title, p.Detail)
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return defaultHTTP
}

// defaultHTTP serves clients without their own http.Client: one shared pool that keeps
// enough idle connections for concurrent use (an import with --parallel 64), where
// net/http's default keeps two per host and opens a new connection for every other
// request in flight.
var defaultHTTP = func() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 128, 64
	return &http.Client{Transport: tr, Timeout: 10 * time.Minute}
}()

// NewRequest builds a request to path (which may carry a query) with the caller's
// credentials applied by Do.
func (c *Client) NewRequest(ctx context.Context, method, path string, body io.Reader, contentType string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req, nil
}

// Do authenticates req, sends it, and returns the response if its status is 2xx; any
// other status is decoded into a *Problem and the body closed.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	if c.SubjectKey != nil {
		now := time.Now
		if c.Now != nil {
			now = c.Now
		}
		nonce, err := httpsig.NewNonce()
		if err != nil {
			return nil, err
		}
		_, keyID, err := PublicKeyPEM(&c.SubjectKey.PublicKey)
		if err != nil {
			return nil, err
		}
		if err := httpsig.Sign(req, service.KeyRef(c.SubjectID, keyID), c.SubjectKey, now(), nonce); err != nil {
			return nil, err
		}
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	p := &Problem{Status: resp.StatusCode}
	if err := json.Unmarshal(b, p); err != nil || p.Code == "" {
		p.Code, p.Title, p.Detail = "http_"+fmt.Sprint(resp.StatusCode), resp.Status, strings.TrimSpace(string(b))
	}
	return nil, p
}

// DoJSON sends v (if not nil) as JSON and decodes a 2xx answer into out (if not nil).
func (c *Client) DoJSON(ctx context.Context, method, path string, v, out any) error {
	var body io.Reader
	ct := ""
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		body, ct = strings.NewReader(string(b)), "application/json"
	}
	req, err := c.NewRequest(ctx, method, path, body, ct)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
