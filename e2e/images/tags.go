package images

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
)

// TagNames returns n distinct tag names that look like a busy public
// repository's, the same on every call: "latest", semver with and without
// "v" (1.9.0 and 1.10.0, so that lexical and version order differ),
// suffixed releases and release candidates, commit and pull-request tags,
// and a few cosign signature tags ("sha256-<64 hex>.sig").
func TagNames(n int) []string {
	tags := make([]string, 0, n)
	seen := make(map[string]bool, n)
	// Every eighth candidate is a commit tag, unique by its hash, so the
	// loop ends after at most 8n candidates.
	for i := 0; len(tags) < n; i++ {
		if t := tagName(i); !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	return tags
}

func tagName(i int) string {
	sum := sha256.Sum256([]byte(strconv.Itoa(i)))
	hash := hex.EncodeToString(sum[:])
	v := i / 8
	major, minor, patch := 1+v/200, v/10%20, v%10
	switch i % 8 {
	case 0:
		if i == 0 {
			return "latest"
		}
		return fmt.Sprintf("%d.%d.%d", major, minor, patch)
	case 1:
		return fmt.Sprintf("v%d.%d.%d", major, minor, patch)
	case 2:
		return fmt.Sprintf("%d.%d.%d-alpine", major, minor, patch)
	case 3:
		return fmt.Sprintf("%d.%d", major, minor)
	case 4:
		return fmt.Sprintf("%d.%d.%d-rc.%d", major, minor, patch, 1+i%3)
	case 5:
		return "sha-" + hash[:7]
	case 6:
		return "pr-" + strconv.Itoa(1000+i)
	default:
		if i%48 == 7 {
			return "sha256-" + hash + ".sig"
		}
		return "main-" + hash[:12]
	}
}
