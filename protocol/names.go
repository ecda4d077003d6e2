package protocol

import (
	"strings"
	"unicode/utf8"
)

// MaxNameLen is the longest room name, client id or entry key, in bytes.
const MaxNameLen = 64

// CheckRoom returns a [CodeBadName] error unless name is a valid room name:
// 1 to [MaxNameLen] bytes of UTF-8 without control characters or "/" (in
// a URL path it is percent-encoded, and one path segment).
func CheckRoom(name string) error { return checkName("room", name, "/") }

// CheckClient returns a [CodeBadName] error unless id is a valid client id,
// under the same rules as a room name.
func CheckClient(id string) error { return checkName("client id", id, "/") }

// CheckKey returns a [CodeBadName] error unless key is a valid entry key:
// 1 to [MaxNameLen] bytes of UTF-8 without control characters.
func CheckKey(key string) error { return checkName("key", key, "") }

func checkName(what, s, banned string) error {
	if s == "" || len(s) > MaxNameLen {
		return Errorf(CodeBadName, "%s must be 1 to %d bytes, got %d", what, MaxNameLen, len(s))
	}
	if !utf8.ValidString(s) {
		return Errorf(CodeBadName, "%s %q is not UTF-8", what, s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return Errorf(CodeBadName, "%s %q has a control character (%U)", what, s, r)
		}
	}
	if banned != "" && strings.Contains(s, banned) {
		return Errorf(CodeBadName, "%s %q has a %q", what, s, banned)
	}
	return nil
}
