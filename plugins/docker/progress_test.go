package docker

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ocix/ocix/core"
)

// A pull of two layers as dockerd 20.10 streams it (one already there),
// trimmed.
const pullStream = `{"status":"Pulling from rules/index","id":"latest"}
{"status":"Pulling fs layer","progressDetail":{},"id":"9d9ad8dac639"}
{"status":"Already exists","progressDetail":{},"id":"1f0a2b3c4d5e"}
{"status":"Waiting","progressDetail":{},"id":"9d9ad8dac639"}
{"status":"Downloading","progressDetail":{"current":302080,"total":30009368},"progress":"[>   ]  302.1kB/30.01MB","id":"9d9ad8dac639"}
{"status":"Downloading","progressDetail":{"current":28463104,"total":30009368},"progress":"[=== ]  28.46MB/30.01MB","id":"9d9ad8dac639"}
{"status":"Verifying Checksum","progressDetail":{},"id":"9d9ad8dac639"}
{"status":"Download complete","progressDetail":{},"id":"9d9ad8dac639"}
{"status":"Extracting","progressDetail":{"current":30009368,"total":30009368},"id":"9d9ad8dac639"}
{"status":"Pull complete","progressDetail":{},"id":"9d9ad8dac639"}
{"status":"Digest: sha256:c462bc5c2cef72de25689e27748d4d5a064998946bef6293977e4bedb03d3b08"}
{"status":"Status: Downloaded newer image for 127.0.0.1:5055/rules/index:latest"}
`

func TestPullProgressPerLayer(t *testing.T) {
	var got []core.Progress
	digest, err := readPull(strings.NewReader(pullStream), func(e core.Event) { got = append(got, *e.Progress) })
	if err != nil {
		t.Fatal(err)
	}
	if digest != "sha256:c462bc5c2cef72de25689e27748d4d5a064998946bef6293977e4bedb03d3b08" {
		t.Errorf("digest %q", digest)
	}
	want := []core.Progress{
		{Layer: 1, Layers: 2, Digest: "1f0a2b3c4d5e"},
		{Layer: 0, Layers: 2, Digest: "9d9ad8dac639", Done: 302080, Total: 30009368},
		{Layer: 0, Layers: 2, Digest: "9d9ad8dac639", Done: 28463104, Total: 30009368},
		{Layer: 0, Layers: 2, Digest: "9d9ad8dac639", Done: 30009368, Total: 30009368},
		{Layer: 0, Layers: 2, Digest: "9d9ad8dac639", Done: 30009368, Total: 30009368},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("progress\n got %+v\nwant %+v", got, want)
	}
}

// A pull that fails once its answer has begun says so inside the stream.
func TestPullErrorInTheStream(t *testing.T) {
	stream := `{"status":"Pulling from rules/bulk","id":"latest"}
{"status":"Pulling fs layer","progressDetail":{},"id":"7352917473bd"}
{"errorDetail":{"message":"filesystem layer verification failed for digest sha256:7352917473bd"},"error":"filesystem layer verification failed for digest sha256:7352917473bd"}
`
	_, err := readPull(strings.NewReader(stream), nil)
	if err == nil || err.Error() != "filesystem layer verification failed for digest sha256:7352917473bd" {
		t.Fatalf("err = %v", err)
	}
	if _, err := readPull(strings.NewReader(`{"status":"Pulling`), nil); err == nil {
		t.Fatal("a cut stream is no error")
	}
}
