package registry

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ocix/ocix/core/reference"
	"github.com/ocix/ocix/plugins/internal/credentials"
)

// clientID names ocix to OAuth2 token servers, as docker names itself
// "docker".
const clientID = "ocix"

// maxTokenBody bounds a token server's answer; tokens are a few KiB.
const maxTokenBody = 1 << 20

// authKey is what an authorization is good for: one scope on one host.
// Every page of a tag list shares one, so a listing authenticates once.
type authKey struct{ host, scope string }

// authorization is an Authorization header value and when to stop
// sending it; a zero expiry never ends (Basic credentials).
type authorization struct {
	header  string
	expires time.Time
}

// cachedAuth is the Authorization header to send with r, or "".
func (c *Client) cachedAuth(r *request) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.auths[authKey{r.ep.Host, r.scope()}]
	if !ok || !a.expires.IsZero() && time.Now().After(a.expires) {
		return ""
	}
	return a.header
}

// answerChallenge answers resp's 401 challenge and sends r again. With
// nothing to answer with, the 401 stands as the answer.
func (c *Client) answerChallenge(ctx context.Context, r *request, resp *http.Response) (*http.Response, error) {
	ok, err := c.authenticate(ctx, r, resp.Header.Values("WWW-Authenticate"))
	if !ok && err == nil {
		return resp, nil
	}
	closeBody(resp)
	if err != nil {
		return nil, err
	}
	return c.send(ctx, r)
}

// authenticate answers a 401's challenges for r's scope and caches the
// result. It reports false when it has nothing to answer with: no
// challenge it speaks, or a Basic challenge and no credentials.
func (c *Client) authenticate(ctx context.Context, r *request, values []string) (bool, error) {
	var basic bool
	for _, ch := range parseChallenges(values) {
		switch ch.scheme {
		case "bearer":
			a, err := c.fetchToken(ctx, r, ch)
			if err != nil {
				return false, err
			}
			c.store(r, a)
			return true, nil
		case "basic":
			basic = true
		}
	}
	if !basic {
		return false, nil
	}
	cred, found, err := c.credential(ctx, r)
	if err != nil || !found || cred.Username == "" {
		return false, err
	}
	raw := base64.StdEncoding.EncodeToString([]byte(cred.Username + ":" + cred.Password))
	c.store(r, authorization{header: "Basic " + raw})
	return true, nil
}

func (c *Client) store(r *request, a authorization) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.auths[authKey{r.ep.Host, r.scope()}] = a
}

// credential looks up the credentials for r's registry.
func (c *Client) credential(ctx context.Context, r *request) (credentials.Credential, bool, error) {
	if c.creds == nil {
		return credentials.Credential{}, false, nil
	}
	cred, found, err := c.creds.Lookup(ctx, r.ep.Registry, r.repository)
	if err != nil {
		return cred, false, fmt.Errorf("%s: %w", r.name(), err)
	}
	return cred, found, nil
}

// tokenAnswer is a token server's answer. Docker's token servers say
// "token", OAuth2 ones "access_token"; some say both.
type tokenAnswer struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

// fetchToken gets a bearer token for r from the challenge's realm, as the
// distribution token spec says: a GET with Basic credentials if there are
// any, or, with an identity token, the OAuth2 refresh-token POST docker
// uses. The token lives for expires_in (60 s when not given, the spec's
// least), and is dropped a little before so as not to be refused midway.
func (c *Client) fetchToken(ctx context.Context, r *request, ch challenge) (authorization, error) {
	realm, err := checkRealm(r, ch.params["realm"])
	if err != nil {
		return authorization{}, err
	}
	cred, _, err := c.credential(ctx, r)
	if err != nil {
		return authorization{}, err
	}
	// A challenge may ask for several scopes, space-separated; without
	// one, ask for what r needs.
	scopes := strings.Fields(ch.params["scope"])
	if len(scopes) == 0 {
		scopes = []string{r.scope()}
	}
	service := ch.params["service"]

	var answer tokenAnswer
	err = c.retry(ctx, func() error {
		req, err := tokenRequest(ctx, realm, service, scopes, cred)
		if err != nil {
			return err
		}
		resp, err := c.roundTrip(req, r.ep.Insecure)
		if err != nil {
			return err
		}
		return answer.read(r.name(), resp)
	})
	if err != nil {
		return authorization{}, err
	}
	token := cmp.Or(answer.Token, answer.AccessToken)
	if token == "" {
		return authorization{}, fmt.Errorf("%s: the token server %s sent no token", r.name(), realm.Host)
	}
	life := time.Duration(max(answer.ExpiresIn, 60)) * time.Second
	return authorization{header: "Bearer " + token, expires: time.Now().Add(life * 9 / 10)}, nil
}

func (a *tokenAnswer) read(name string, resp *http.Response) error {
	defer closeBody(resp)
	if resp.StatusCode/100 != 2 {
		err := answerError(name, resp)
		if retryableStatus(resp.StatusCode) {
			return retryLater(err, resp.Header)
		}
		return err
	}
	*a = tokenAnswer{}
	resp.Body = http.MaxBytesReader(nil, resp.Body, maxTokenBody)
	return decodeJSON(name, resp, a)
}

// tokenRequest builds one request for a token; a retry needs a new one,
// since a sent body is spent.
func tokenRequest(ctx context.Context, realm *url.URL, service string, scopes []string, cred credentials.Credential) (*http.Request, error) {
	if cred.IdentityToken != "" {
		form := url.Values{
			"grant_type":    {"refresh_token"},
			"refresh_token": {cred.IdentityToken},
			"client_id":     {clientID},
			"scope":         scopes,
		}
		if service != "" {
			form.Set("service", service)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, realm.String(), strings.NewReader(form.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req, nil
	}
	u := *realm
	q := u.Query()
	if service != "" {
		q.Set("service", service)
	}
	q["scope"] = scopes
	if cred.Username != "" {
		// Docker names the account too; some token servers want it.
		q.Set("account", cred.Username)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if cred.Username != "" {
		req.SetBasicAuth(cred.Username, cred.Password)
	}
	return req, nil
}

// checkRealm parses a Bearer challenge's realm, the token server that
// gets our credentials, and refuses one in plain HTTP — where they would
// cross the network readable — unless the registry is marked insecure, or
// both registry and token server are on this machine.
func checkRealm(r *request, realm string) (*url.URL, error) {
	u, err := url.Parse(realm)
	if err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("%s: the registry's token server %q is not an HTTP(S) URL", r.name(), realm)
	}
	if u.Scheme == "http" && !r.ep.Insecure && !(reference.IsLoopback(r.ep.Host) && reference.IsLoopback(u.Host)) {
		return nil, fmt.Errorf("%s: refusing the registry's token server %s: credentials and tokens would cross the network in plain HTTP (mark the registry insecure to allow it)", r.name(), realm)
	}
	return u, nil
}
