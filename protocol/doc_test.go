package protocol

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestProtocolDoc checks docs/PROTOCOL.md against the fixtures: every hex
// dump in it is a fixture, byte for byte, and every fixture is shown.
func TestProtocolDoc(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	dumps := make(map[string]string) // dump → fixture name
	for _, tt := range golden {
		b := readHex(t, tt.name)
		var lines []string
		for i := 0; i < len(b); i += 16 {
			lines = append(lines, spaced(b[i:min(i+16, len(b))]))
		}
		dumps[strings.Join(lines, "\n")] = tt.name
	}
	shown := make(map[string]bool)
	block := regexp.MustCompile("(?s)```\n(.*?)\n```")
	hexOnly := regexp.MustCompile(`^[0-9a-f]{2}( [0-9a-f]{2})*(\n[0-9a-f]{2}( [0-9a-f]{2})*)*$`)
	for _, m := range block.FindAllStringSubmatch(string(doc), -1) {
		if !hexOnly.MatchString(m[1]) || strings.Count(m[1], "\n") == 0 && len(m[1]) < 8 {
			continue
		}
		name, ok := dumps[m[1]]
		if !ok {
			t.Errorf("PROTOCOL.md shows a dump that is no fixture:\n%s", m[1])
			continue
		}
		shown[name] = true
	}
	for _, tt := range golden {
		if !shown[tt.name] {
			t.Errorf("PROTOCOL.md does not show testdata/%s.hex", tt.name)
		}
	}
}
