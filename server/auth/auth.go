// Package auth verifies and mints Synk's client tokens: JSON Web Tokens
// naming a client (sub), an expiry (exp) and what the client may do in
// which rooms (rooms). A server run with an [Auth] takes only clients
// with a valid token; a user's own service mints tokens with [Mint] after
// its login (synk token does, for development).
package auth

import (
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/synkhq/synk/protocol"
)

// Capability is an action a token allows in the rooms it names.
type Capability string

// Capabilities. A token's "rooms" claim maps room patterns to lists of them.
const (
	CapPresence Capability = "presence" // join as a participant, publish presence (POST /synk/{room})
	CapObserve  Capability = "observe"  // join as an observer (GET /synk/{room})
	CapRead     Capability = "read"     // subscribe to areas and receive objects
	CapWrite    Capability = "write"    // create, update, move and delete objects
	CapMeet     Capability = "meet"     // rendezvous; the room of a meet without one is ""
)

var allCaps = []Capability{CapPresence, CapObserve, CapRead, CapWrite, CapMeet}

// Claims are the claims of a Synk token: the user id in "sub", the expiry
// in "exp", and per-room capabilities in "rooms", whose keys are room
// names or path.Match patterns ("game-*", "*"; "*" also matches the ""
// room of meets without a room):
//
//	{"sub":"ada","exp":1767225600,"rooms":{"lobby":["presence","read","write"],"*":["observe"]}}
type Claims struct {
	Rooms map[string][]Capability `json:"rooms"`
	jwt.RegisteredClaims
}

// Grant is what a verified token allows.
type Grant struct {
	User    string    // the token's subject: the client id in force
	Expires time.Time // the token's expiry
	rooms   map[string][]Capability
}

// Allows reports whether g grants c in room. A nil Grant (a server without
// auth) allows everything.
func (g *Grant) Allows(room string, c Capability) bool {
	if g == nil {
		return true
	}
	for pattern, caps := range g.rooms {
		if ok, _ := path.Match(pattern, room); ok && slices.Contains(caps, c) {
			return true
		}
	}
	return false
}

// Check returns a [protocol.CodeForbidden] error unless g grants c in
// room.
func (g *Grant) Check(room string, c Capability) error {
	if g.Allows(room, c) {
		return nil
	}
	return protocol.Errorf(protocol.CodeForbidden, "the token does not allow %s in room %q", c, room)
}

// Auth verifies the tokens clients present: JSON Web Tokens signed with
// HMAC-SHA256/384/512 (a shared secret), RSA (RS256/384/512, PS256/384/512)
// or Ed25519 (EdDSA). Only the algorithms of its key's family are taken, so
// "alg":"none" and an HMAC token signed with an RSA public key are refused.
// Tokens must carry "exp" and "sub".
type Auth struct {
	key     any
	methods []string
}

// New returns an Auth verifying with key: a []byte HMAC secret of at
// least 32 bytes, an *rsa.PublicKey or an ed25519.PublicKey.
func New(key any) (*Auth, error) {
	switch k := key.(type) {
	case []byte:
		if len(k) < 32 {
			return nil, fmt.Errorf("auth: an HMAC secret needs at least 32 bytes, got %d", len(k))
		}
		return &Auth{key: k, methods: []string{"HS256", "HS384", "HS512"}}, nil
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("auth: an RSA key needs at least 2048 bits, got %d", k.N.BitLen())
		}
		return &Auth{key: k, methods: []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}}, nil
	case ed25519.PublicKey:
		return &Auth{key: k, methods: []string{"EdDSA"}}, nil
	}
	return nil, fmt.Errorf("auth: unsupported verification key %T (want []byte, *rsa.PublicKey or ed25519.PublicKey)", key)
}

// Verify checks token and returns what it grants. Its errors are
// [*protocol.Error] values with code [protocol.CodeUnauthorized].
func (a *Auth) Verify(token string) (*Grant, error) {
	if token == "" {
		return nil, protocol.Errorf(protocol.CodeUnauthorized, "a token is required")
	}
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return a.key, nil },
		jwt.WithValidMethods(a.methods), jwt.WithExpirationRequired(), jwt.WithLeeway(5*time.Second))
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, protocol.Errorf(protocol.CodeUnauthorized, "the token expired")
	case err != nil:
		return nil, protocol.Errorf(protocol.CodeUnauthorized, "bad token: %v", err)
	case protocol.CheckClient(c.Subject) != nil:
		return nil, protocol.Errorf(protocol.CodeUnauthorized, "bad token: \"sub\" must be a valid client id")
	}
	return &Grant{User: c.Subject, Expires: c.ExpiresAt.Time, rooms: c.Rooms}, nil
}

// Mint signs claims with key: a []byte HMAC secret (HS256), an
// *rsa.PrivateKey (RS256) or an ed25519.PrivateKey (EdDSA). It refuses
// claims without a subject or expiry, and unknown capabilities. `synk
// token` uses it to mint tokens for development.
func Mint(key any, claims Claims) (string, error) {
	if protocol.CheckClient(claims.Subject) != nil {
		return "", fmt.Errorf("auth: the subject %q is not a valid client id", claims.Subject)
	}
	if claims.ExpiresAt == nil {
		return "", errors.New("auth: a token needs an expiry")
	}
	for pattern, caps := range claims.Rooms {
		if _, err := path.Match(pattern, ""); err != nil {
			return "", fmt.Errorf("auth: room pattern %q: %v", pattern, err)
		}
		for _, c := range caps {
			if !slices.Contains(allCaps, c) {
				return "", fmt.Errorf("auth: unknown capability %q (want one of %v)", c, allCaps)
			}
		}
	}
	var m jwt.SigningMethod
	switch key.(type) {
	case []byte:
		m = jwt.SigningMethodHS256
	case *rsa.PrivateKey:
		m = jwt.SigningMethodRS256
	case ed25519.PrivateKey:
		m = jwt.SigningMethodEdDSA
	default:
		return "", fmt.Errorf("auth: unsupported signing key %T", key)
	}
	return jwt.NewWithClaims(m, claims).SignedString(key)
}
