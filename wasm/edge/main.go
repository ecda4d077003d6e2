//go:build !js

package main

import (
	"fmt"
	"os"
)

// main explains how to build this command; it only does something under
// GOOS=js GOARCH=wasm, inside a Durable Object (make edge).
func main() {
	fmt.Fprintln(os.Stderr, "synk edge: build with GOOS=js GOARCH=wasm (make edge) and run under workerd")
	os.Exit(2)
}
