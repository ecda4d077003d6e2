// Package wraperr builds wrapped errors without package fmt. The browser
// bundle links no fmt: its reflection-driven formatting alone costs ~85 KB
// of brotli, more than all of the client's own code.
package wraperr

// Error is an error with a message of its own that wraps other errors, as
// fmt.Errorf with %w makes one: [errors.Is] and [errors.As] see them.
type Error struct {
	msg  string
	errs []error
}

func (e *Error) Error() string { return e.msg }

// Unwrap returns the wrapped errors.
func (e *Error) Unwrap() []error { return e.errs }

// New returns an error that reads msg and wraps errs.
func New(msg string, errs ...error) error { return &Error{msg: msg, errs: errs} }

// Prefix returns an error that reads prefix, ": " and err, and wraps err:
// fmt.Errorf("prefix: %w", err).
func Prefix(prefix string, err error) error {
	return &Error{msg: prefix + ": " + err.Error(), errs: []error{err}}
}

// Detail returns an error that reads err, ": " and detail, and wraps err:
// fmt.Errorf("%w: detail", err).
func Detail(err error, detail string) error {
	return &Error{msg: err.Error() + ": " + detail, errs: []error{err}}
}

// Both returns an error that reads outer, ": " and inner, and wraps both:
// fmt.Errorf("%w: %w", outer, inner).
func Both(outer, inner error) error {
	return &Error{msg: outer.Error() + ": " + inner.Error(), errs: []error{outer, inner}}
}

// Panic turns a value recovered from a panic into an error: the value
// itself if it is one, its text if it is a string.
func Panic(r any) error {
	switch v := r.(type) {
	case error:
		return v
	case string:
		return &Error{msg: v}
	}
	return &Error{msg: "panic of a value that is neither an error nor a string"}
}

// Find returns the first error of type T in err's tree, walking it as
// [errors.As] does (depth first), but by type assertion: errors.As links
// reflection (internal/reflectlite's values, ~30 KB of code in the browser
// bundle). Unlike errors.As it does not call As methods; no error of this
// module has one.
func Find[T error](err error) (T, bool) {
	for err != nil {
		if t, ok := err.(T); ok {
			return t, true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if t, ok := Find[T](e); ok {
					return t, true
				}
			}
			err = nil
		default:
			err = nil
		}
	}
	var zero T
	return zero, false
}
