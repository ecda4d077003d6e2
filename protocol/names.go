package protocol

import "unicode/utf8"

// MaxNameLen is the longest room name, client id or entry key, in bytes.
const MaxNameLen = 64

// CheckRoom returns a [CodeBadName] error unless name is a valid room name:
// 1 to [MaxNameLen] bytes of ASCII letters, digits and "-._~", so that it
// fits in a URL path unescaped.
func CheckRoom(name string) error { return checkIdent("room", name) }

// CheckClient returns a [CodeBadName] error unless id is a valid client id,
// under the same rules as a room name.
func CheckClient(id string) error { return checkIdent("client id", id) }

// CheckKey returns a [CodeBadName] error unless key is a valid entry key:
// 1 to [MaxNameLen] bytes of UTF-8 without control characters.
func CheckKey(key string) error {
	if key == "" || len(key) > MaxNameLen {
		return Errorf(CodeBadName, "key must be 1 to %d bytes, got %d", MaxNameLen, len(key))
	}
	if !utf8.ValidString(key) {
		return Errorf(CodeBadName, "key %q is not UTF-8", key)
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return Errorf(CodeBadName, "key %q has a control character", key)
		}
	}
	return nil
}

func checkIdent(what, s string) error {
	if s == "" || len(s) > MaxNameLen {
		return Errorf(CodeBadName, "%s must be 1 to %d bytes, got %d", what, MaxNameLen, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~'
		if !ok {
			return Errorf(CodeBadName, "%s %q: byte %d (%q) is not one of A-Z a-z 0-9 - . _ ~", what, s, i, c)
		}
	}
	return nil
}
