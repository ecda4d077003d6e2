//go:build !js

package client

import (
	"context"
	"maps"
	"path/filepath"
	"testing"
)

func TestFileStore(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.Apply(ctx, map[string][]byte{"a": []byte("1"), "b": []byte("2")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Apply(ctx, map[string][]byte{"c": []byte("3")}, []string{"a", "nope"}); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(path); err == nil {
		t.Fatal("a second OpenFile of a file in use succeeded")
	}
	st.Close()
	st, err = OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Load(ctx)
	if want := map[string][]byte{"b": []byte("2"), "c": []byte("3")}; err != nil || !maps.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Fatalf("Load = %q, %v; want %q", got, err, want)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := st.Apply(canceled, map[string][]byte{"d": nil}, nil); err == nil {
		t.Fatal("Apply with a canceled context succeeded")
	}
}
