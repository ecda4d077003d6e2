//go:build !race && !js

package server

// raceDetector: the race detector is on, and goroutine stacks are larger.
const raceDetector = false
