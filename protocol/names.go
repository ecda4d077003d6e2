package protocol

import (
	"math/bits"
	"strconv"
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
		return newError(CodeBadName, what+" must be 1 to "+strconv.Itoa(MaxNameLen)+" bytes, got "+strconv.Itoa(len(s)))
	}
	if !utf8.ValidString(s) {
		return newError(CodeBadName, what+" "+strconv.Quote(s)+" is not UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return newError(CodeBadName, what+" "+strconv.Quote(s)+" has a control character ("+unicodeName(r)+")")
		}
	}
	if banned != "" && strings.Contains(s, banned) {
		return newError(CodeBadName, what+" "+strconv.Quote(s)+" has a "+strconv.Quote(banned))
	}
	return nil
}

// unicodeName writes r as U+ and at least four upper-case hex digits, as
// fmt's %U does.
func unicodeName(r rune) string {
	const digits = "0123456789ABCDEF"
	b := []byte("U+")
	for shift := max(12, (bits.Len32(uint32(r))+3)/4*4-4); shift >= 0; shift -= 4 {
		b = append(b, digits[uint32(r)>>shift&0x0f])
	}
	return string(b)
}
