package registry

import "strings"

// link is one link-value of a Link header (RFC 8288):
//
//	</v2/library/busybox/tags/list?last=1.36&n=50>; rel="next"
type link struct {
	target string            // the URI reference between < and >, unresolved
	params map[string]string // names in lower case; the first of a name wins
}

// parseLinks reads Link header values: comma-separated links, each a
// <target> followed by ;-separated parameters in any order, whose values
// may be quoted (with commas and semicolons inside). A link that does not
// parse is skipped.
func parseLinks(values []string) []link {
	var out []link
	for _, v := range values {
		p := scanner{s: v}
		for {
			p.skip(" \t,")
			if p.done() {
				break
			}
			if !p.consume('<') {
				p.skipElement()
				continue
			}
			end := strings.IndexByte(p.s[p.i:], '>')
			if end < 0 {
				break // an unclosed target swallows the rest
			}
			l := link{target: strings.TrimSpace(p.s[p.i : p.i+end]), params: map[string]string{}}
			p.i += end + 1
			for {
				p.skip(" \t")
				if !p.consume(';') {
					break
				}
				p.skip(" \t")
				name := strings.ToLower(p.token())
				p.skip(" \t")
				value := ""
				if p.consume('=') {
					p.skip(" \t")
					value = p.value()
				}
				if _, dup := l.params[name]; name != "" && !dup {
					l.params[name] = value
				}
			}
			p.skipElement() // whatever follows the parameters is not ours
			out = append(out, l)
		}
	}
	return out
}

// nextLink is the target of the first link whose rel, a space-separated
// list, holds "next"; "" when there is none.
func nextLink(values []string) string {
	for _, l := range parseLinks(values) {
		for _, rel := range strings.Fields(l.params["rel"]) {
			if strings.EqualFold(rel, "next") {
				return l.target
			}
		}
	}
	return ""
}
