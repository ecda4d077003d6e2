package wraperr

import (
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
)

// TestAsFmt: each helper reads and unwraps as the fmt.Errorf it replaces.
func TestAsFmt(t *testing.T) {
	inner := fmt.Errorf("open x: %w", os.ErrNotExist)
	cases := []struct {
		got, want error
		is        []error
	}{
		{New("plain"), errors.New("plain"), nil},
		{New("both", io.EOF, os.ErrNotExist), fmt.Errorf("both%.0w%.0w", io.EOF, os.ErrNotExist), []error{io.EOF, os.ErrNotExist}},
		{Prefix("client: hello", inner), fmt.Errorf("client: hello: %w", inner), []error{inner, os.ErrNotExist}},
		{Detail(io.EOF, "3 trailing bytes"), fmt.Errorf("%w: 3 trailing bytes", io.EOF), []error{io.EOF}},
		{Both(io.EOF, inner), fmt.Errorf("%w: %w", io.EOF, inner), []error{io.EOF, inner, os.ErrNotExist}},
	}
	for _, c := range cases {
		if c.got.Error() != c.want.Error() {
			t.Errorf("reads %q, fmt reads %q", c.got, c.want)
		}
		for _, target := range c.is {
			if !errors.Is(c.got, target) || !errors.Is(c.want, target) {
				t.Errorf("%q: errors.Is(%v) = %v, fmt's %v", c.got, target, errors.Is(c.got, target), errors.Is(c.want, target))
			}
		}
		if errors.Is(c.got, io.ErrUnexpectedEOF) {
			t.Errorf("%q wraps io.ErrUnexpectedEOF", c.got)
		}
	}
	var pe *os.PathError
	if !errors.As(Prefix("x", &os.PathError{Op: "open", Path: "p", Err: os.ErrNotExist}), &pe) || pe.Path != "p" {
		t.Errorf("errors.As does not reach the wrapped *os.PathError")
	}
}

func TestPanic(t *testing.T) {
	for _, c := range []struct {
		r    any
		want string
	}{
		{io.EOF, "EOF"},
		{"boom", "boom"},
		{42, "panic of a value that is neither an error nor a string"},
	} {
		if got := Panic(c.r).Error(); got != c.want {
			t.Errorf("Panic(%#v) = %q, want %q", c.r, got, c.want)
		}
	}
	if Panic(io.EOF) != io.EOF {
		t.Error("Panic(err) is not err itself")
	}
}
