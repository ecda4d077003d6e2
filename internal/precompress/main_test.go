package main

import (
	"os"
	"testing"
)

// TestCompress_onlyWhenChanged: a file whose content did not change since
// its .br and .gz were written is not compressed again; a changed one is.
func TestCompress_onlyWhenChanged(t *testing.T) {
	t.Chdir(t.TempDir())
	write := func(s string) {
		if err := os.WriteFile("f.js", []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("let a = 1;")
	if err := compress("f.js", false, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("f.js.br", []byte("marker"), 0o644); err != nil { // not what brotli would write
		t.Fatal(err)
	}
	if err := compress("f.js", false, 0); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile("f.js.br"); string(b) != "marker" {
		t.Fatal("an unchanged file was compressed again")
	}
	write("let a = 2;")
	if err := compress("f.js", false, 0); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile("f.js.br"); string(b) == "marker" {
		t.Fatal("a changed file was not compressed again")
	}
	if err := compress("f.js", false, 3); err == nil {
		t.Fatal("a file over the budget passed (from the kept sizes)")
	}
}
