package core

import (
	"cmp"
	"context"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/mod/semver"
)

// TagsRequest asks for every tag of one repository.
type TagsRequest struct {
	// Repository is the path within the registry ("library/busybox").
	Repository string
	Endpoints  []Endpoint
}

// TagLister lists the tags of a repository, every page, in registry order.
type TagLister interface {
	ListTags(ctx context.Context, req TagsRequest) ([]string, error)
}

// ListTags lists every tag of a repository with the named backend.
func (c *Core) ListTags(ctx context.Context, backend string, req TagsRequest) ([]string, error) {
	lister, h, err := openFor[TagLister](ctx, c, backend, CapTags)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return lister.ListTags(ctx, req)
}

// Tag orders for TagOptions.Sort.
const (
	SortRegistry = ""        // as the registry listed them
	SortLexical  = "lexical" // byte order
	SortSemver   = "semver"  // semantic versions ascending, then other tags lexically
)

// TagOptions shapes a tag list the same way whichever backend listed it.
type TagOptions struct {
	// OmitDigestTags drops the tags signing and attestation tools push next
	// to an image (cosign's sha256-<hex>.sig, .att, .sbom).
	OmitDigestTags bool
	Sort           string
	// Filter keeps only tags it matches; nil keeps all.
	Filter *regexp.Regexp
}

var digestTag = regexp.MustCompile(`^sha(256|512)-[0-9a-f]{64,128}(\.[A-Za-z0-9_-]+)*$`)

// ParseTagSort validates a --sort value.
func ParseTagSort(s string) (string, error) {
	switch s {
	case SortRegistry, "registry":
		return SortRegistry, nil
	case SortLexical, SortSemver:
		return s, nil
	}
	return "", Usagef("invalid --sort %q: want lexical or semver", s)
}

// ParseTagFilter compiles a --filter value.
func ParseTagFilter(s string) (*regexp.Regexp, error) {
	if s == "" {
		return nil, nil
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, Usagef("invalid --filter %q: %v", s, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return re, nil
}

// Apply filters and orders tags; the input is left alone.
func (o TagOptions) Apply(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if o.OmitDigestTags && digestTag.MatchString(t) {
			continue
		}
		if o.Filter != nil && !o.Filter.MatchString(t) {
			continue
		}
		out = append(out, t)
	}
	switch o.Sort {
	case SortLexical:
		slices.Sort(out)
	case SortSemver:
		slices.SortStableFunc(out, compareSemver)
	}
	return out
}

// compareSemver orders semantic versions ("1.2.3", "v1.2", "1.2.3-rc.1")
// ascending before every other tag, which follow in byte order.
func compareSemver(a, b string) int {
	va, vb := asSemver(a), asSemver(b)
	switch {
	case va != "" && vb != "":
		if c := semver.Compare(va, vb); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	case va != "":
		return -1
	case vb != "":
		return 1
	}
	return cmp.Compare(a, b)
}

func asSemver(tag string) string {
	v := tag
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	if semver.IsValid(v) {
		return v
	}
	return ""
}
