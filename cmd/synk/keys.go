package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

// loadKey reads a key file: a PEM key (PUBLIC KEY for verifying, PRIVATE
// KEY or RSA PRIVATE KEY for signing; RSA or Ed25519), or else an HMAC
// secret, the file's bytes without a trailing newline.
func loadKey(path string, private bool) (any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return bytes.TrimRight(b, "\r\n"), nil
	}
	var key any
	switch {
	case private && block.Type == "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case private && block.Type == "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case !private && block.Type == "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case !private && block.Type == "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		want := "a PUBLIC KEY"
		if private {
			want = "a PRIVATE KEY"
		}
		return nil, fmt.Errorf("%s: PEM block %q, want %s", path, block.Type, want)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}
