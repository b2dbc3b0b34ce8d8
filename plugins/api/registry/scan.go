package registry

import "strings"

// scanner reads the HTTP header grammar that WWW-Authenticate and Link
// share: tokens, quoted strings, and separators. It never fails and never
// reads past the end; the parsers built on it skip what they cannot read.
type scanner struct {
	s string
	i int
}

func (p *scanner) done() bool { return p.i >= len(p.s) }

func (p *scanner) peek() byte {
	if p.done() {
		return 0
	}
	return p.s[p.i]
}

// consume reads c if it comes next.
func (p *scanner) consume(c byte) bool {
	if !p.done() && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// skip reads any run of the bytes in set.
func (p *scanner) skip(set string) {
	for !p.done() && strings.IndexByte(set, p.s[p.i]) >= 0 {
		p.i++
	}
}

// token reads an RFC 9110 token: a scheme, or a parameter's name.
func (p *scanner) token() string {
	start := p.i
	for !p.done() && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// value reads a parameter's value: a quoted string, unescaped, or else
// everything up to the next separator. Servers write unquoted URLs, which
// are no tokens, so the unquoted form is read leniently.
func (p *scanner) value() string {
	if !p.consume('"') {
		start := p.i
		for !p.done() && strings.IndexByte(",; \t", p.s[p.i]) < 0 {
			p.i++
		}
		return p.s[start:p.i]
	}
	var b strings.Builder
	for !p.done() {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '"':
			return b.String()
		case c == '\\' && !p.done():
			b.WriteByte(p.s[p.i])
			p.i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String() // unterminated: the rest is the value
}

// skipElement reads up to the next comma outside a quoted string: past an
// element of a comma-separated list that did not parse.
func (p *scanner) skipElement() {
	for !p.done() && p.peek() != ',' {
		if p.peek() == '"' {
			p.value()
			continue
		}
		p.i++
	}
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
