package wraperr

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
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

type codeErr struct{ n int }

func (e *codeErr) Error() string { return "code " + strconv.Itoa(e.n) }

// TestFind_asErrorsAs: Find finds what errors.As finds, in the same order.
func TestFind_asErrorsAs(t *testing.T) {
	one, two := &codeErr{1}, &codeErr{2}
	for _, err := range []error{
		nil,
		io.EOF,
		one,
		fmt.Errorf("a: %w", one),
		Prefix("x", Prefix("y", two)),
		Both(io.EOF, one),
		errors.Join(io.EOF, fmt.Errorf("b: %w", two), one),
		New("both", Prefix("z", one), two),
		fmt.Errorf("%w and %w", io.EOF, os.ErrNotExist),
	} {
		var want *codeErr
		wantOK := errors.As(err, &want)
		got, ok := Find[*codeErr](err)
		if ok != wantOK || got != want {
			t.Errorf("Find(%v) = %v, %v; errors.As finds %v, %v", err, got, ok, want, wantOK)
		}
	}
}
