//go:build !js

package main

import (
	"fmt"
	"os"
)

// main explains how to build this command; it only does something under
// GOOS=js GOARCH=wasm.
func main() {
	fmt.Fprintln(os.Stderr, "synk wasm: build with GOOS=js GOARCH=wasm (make wasm)")
	os.Exit(2)
}
