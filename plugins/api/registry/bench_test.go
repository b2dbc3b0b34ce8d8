package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// BenchmarkListTags lists 10,000 tags from a registry that forces pages
// of 50: 200 requests. The pages are made beforehand, so that what is
// measured is the client.
func BenchmarkListTags(b *testing.B) {
	const total, size = 10000, 50
	tags := tagNames(total)
	pages := map[string][]byte{}
	links := map[string]string{}
	for i := 0; i < total; i += size {
		last := ""
		if i > 0 {
			last = tags[i-1]
		}
		pages[last], _ = json.Marshal(map[string]any{"name": "team/app", "tags": tags[i : i+size]})
		if i+size < total {
			links[last] = fmt.Sprintf(`</v2/team/app/tags/list?last=%s&n=%d>; rel="next"`, tags[i+size-1], size)
		}
	}
	srv, _ := serve(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last := r.URL.Query().Get("last")
		if l, ok := links[last]; ok {
			w.Header().Set("Link", l)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(pages[last])
	}))
	c := New(Options{})
	ep := endpoint(srv)
	b.ReportAllocs()
	for b.Loop() {
		got, err := c.ListTags(context.Background(), ep, "team/app")
		if err != nil || len(got) != total {
			b.Fatalf("got %d tags, %v", len(got), err)
		}
	}
}
