package registry

import "strings"

// challenge is one authentication challenge of a WWW-Authenticate header:
//
//	Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"
type challenge struct {
	scheme string            // in lower case: "bearer", "basic"
	params map[string]string // names in lower case; the first of a name wins
}

// parseChallenges reads WWW-Authenticate header values (RFC 9110 §11.6.1).
// One value may hold several challenges: a scheme, then comma-separated
// name=value parameters, where a value is a token or a quoted string with
// backslash escapes (commas inside quotes are part of it). A name not
// followed by "=" starts the next challenge. What does not parse is
// skipped, so a registry's odd header costs a challenge, never an error.
func parseChallenges(values []string) []challenge {
	var out []challenge
	for _, v := range values {
		p := scanner{s: v}
		for {
			p.skip(" \t,")
			if p.done() {
				break
			}
			scheme := p.token()
			if scheme == "" {
				// Not a challenge. skipElement moves on: the byte here is
				// no separator, which is what it stops at.
				p.skipElement()
				continue
			}
			ch := challenge{scheme: strings.ToLower(scheme), params: map[string]string{}}
			readParams(&p, ch.params)
			out = append(out, ch)
		}
	}
	return out
}

// readParams reads a challenge's name=value list into params, stopping
// before the next challenge's scheme.
func readParams(p *scanner, params map[string]string) {
	for {
		mark := p.i
		p.skip(" \t,")
		name := p.token()
		p.skip(" \t")
		if name == "" || !p.consume('=') {
			p.i = mark
			return
		}
		p.skip(" \t")
		value := p.value()
		name = strings.ToLower(name)
		if _, dup := params[name]; !dup {
			params[name] = value
		}
	}
}
