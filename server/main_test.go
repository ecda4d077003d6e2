//go:build !js

package server

import (
	"log/slog"
	"testing"

	"github.com/synkhq/synk/internal/leakcheck"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler)) // servers made with New(nil) log there
	leakcheck.Main(m, 8<<20)
}
