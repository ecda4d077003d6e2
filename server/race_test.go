//go:build race

package server

// raceDetector: the race detector is on, and goroutine stacks are larger.
const raceDetector = true
