package folder_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/synkhq/synk/internal/folder"
	"github.com/synkhq/synk/server"
)

// Two devices keep a folder equal through a server: what one writes, the
// other has after both sync once.
func ExampleFolder_Once() {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	s, _ := server.New(&server.Options{Logger: quiet})
	hs := httptest.NewServer(s)
	defer s.Shutdown(ctx)
	defer hs.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"

	laptop, _ := os.MkdirTemp("", "laptop")
	desk, _ := os.MkdirTemp("", "desk")
	defer os.RemoveAll(laptop)
	defer os.RemoveAll(desk)
	os.WriteFile(filepath.Join(laptop, "notes.txt"), []byte("buy milk"), 0o644)

	for _, dir := range []string{laptop, desk} {
		f, err := folder.Open(ctx, folder.Options{Dir: dir, Room: "home", Server: url, Logger: quiet})
		if err != nil {
			fmt.Println(err)
			return
		}
		if err := f.Once(ctx); err != nil {
			fmt.Println(err)
		}
		f.Close()
	}
	b, _ := os.ReadFile(filepath.Join(desk, "notes.txt"))
	fmt.Println(string(b))
	// Output: buy milk
}
