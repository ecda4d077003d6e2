package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/synkhq/synk/server/auth"
)

// roomFlags collects -room pattern=cap,cap flags.
type roomFlags map[string][]auth.Capability

func (r roomFlags) String() string { return fmt.Sprint(map[string][]auth.Capability(r)) }

func (r roomFlags) Set(v string) error {
	pattern, caps, ok := strings.Cut(v, "=")
	if !ok || pattern == "" || caps == "" {
		return fmt.Errorf("%q: want pattern=capability,… such as lobby=presence,read", v)
	}
	for _, c := range strings.Split(caps, ",") {
		r[pattern] = append(r[pattern], auth.Capability(strings.TrimSpace(c)))
	}
	return nil
}

// token mints a token for development and prints it.
func token(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("synk token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyFile := fs.String("key", "", "signing key file: an HMAC secret (≥ 32 bytes), or a PEM RSA or Ed25519 private key")
	sub := fs.String("sub", "", "user id: the client id in rooms")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	rooms := roomFlags{}
	fs.Var(rooms, "room", "pattern=capabilities, repeatable: -room 'lobby=presence,read,write' -room '*=observe'\n(capabilities: presence, observe, read, write, meet)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var missing []string
	for _, f := range []struct {
		name  string
		unset bool
	}{{"-key", *keyFile == ""}, {"-sub", *sub == ""}, {"-room", len(rooms) == 0}} {
		if f.unset {
			missing = append(missing, f.name)
		}
	}
	switch {
	case len(missing) > 0:
		return fmt.Errorf("token: %s missing; usage: synk token -key FILE -sub USER -room PATTERN=CAPS [-room …] [-ttl 1h]", strings.Join(missing, ", "))
	case fs.NArg() > 0:
		return fmt.Errorf("token: unexpected argument %q; usage: synk token -key FILE -sub USER -room PATTERN=CAPS [-room …] [-ttl 1h]", fs.Arg(0))
	}
	key, err := loadKey(*keyFile, true)
	if err != nil {
		return err
	}
	now := time.Now()
	t, err := auth.Mint(key, auth.Claims{Rooms: rooms, RegisteredClaims: jwt.RegisteredClaims{
		Subject: *sub, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(*ttl))}})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, t)
	return err
}
