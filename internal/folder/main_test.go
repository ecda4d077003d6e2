package folder

import (
	"testing"

	"github.com/synkhq/synk/internal/leakcheck"
)

func TestMain(m *testing.M) {
	leakcheck.Main(m, 64<<20)
}
