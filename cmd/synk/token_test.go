package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/synkhq/synk/server/auth"
)

// TestToken: synk token mints with an HMAC secret file or a PEM private
// key; a server given the secret or the public key (as serve -auth-key
// loads them) accepts the token with its capabilities.
func TestToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	privFile, pubFile := filepath.Join(dir, "ed.pem"), filepath.Join(dir, "ed.pub.pem")
	writePEM(t, privFile, "PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(priv)))
	writePEM(t, pubFile, "PUBLIC KEY", must(x509.MarshalPKIXPublicKey(pub)))

	for _, c := range []struct{ sign, verify string }{{secret, secret}, {privFile, pubFile}} {
		var out bytes.Buffer
		err := run(context.Background(), []string{"token", "-key", c.sign, "-sub", "ada",
			"-room", "lobby=presence,read", "-room", "*=observe", "-ttl", "5m"}, &out, io.Discard)
		if err != nil {
			t.Fatalf("synk token -key %s: %v", c.sign, err)
		}
		key, err := loadKey(c.verify, false)
		if err != nil {
			t.Fatal(err)
		}
		g, err := must(auth.New(key)).Verify(strings.TrimSpace(out.String()))
		if err != nil {
			t.Fatalf("token from %s: %v", c.sign, err)
		}
		if g.User != "ada" || !g.Allows("lobby", auth.CapRead) || !g.Allows("hall", auth.CapObserve) || g.Allows("hall", auth.CapRead) {
			t.Fatalf("grant %+v, want ada: presence+read in lobby, observe anywhere", g)
		}
	}
	for _, args := range [][]string{
		{"token", "-key", secret, "-sub", "ada"},                            // no room
		{"token", "-key", secret, "-sub", "ada", "-room", "lobby=fly"},      // unknown capability
		{"token", "-key", pubFile, "-sub", "ada", "-room", "lobby=read"},    // a public key cannot sign
		{"token", "-key", secret, "-sub", "a/b", "-room", "lobby=presence"}, // bad user id
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("synk %v: want an error", args)
		}
	}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
