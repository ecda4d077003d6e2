//go:build !synkbrowser

package protocol

import "fmt"

// Errorf returns an [*Error] with code c and a formatted message.
func Errorf(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Message: fmt.Sprintf(format, args...)}
}
