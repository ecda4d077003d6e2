// Package e2e holds end-to-end tests of the Go client against the real
// server over real websockets on loopback. It has no non-test code beyond
// this comment: server/ and client/ never import each other, so their
// meeting is tested here.
package e2e
