package client

import (
	"testing"

	"github.com/synkhq/synk/internal/leakcheck"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Under js/wasm the runtime parks one goroutine for browser events.
	leakcheck.Main(m, 8<<20, goleak.IgnoreAnyFunction("runtime.handleEvent"))
}
