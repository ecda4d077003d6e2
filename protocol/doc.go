// Package protocol defines the Synk wire format: the frames a client and a
// server exchange over a websocket, their stable error codes, and the
// encoding, decoding and validation of those frames.
//
// The package does no I/O, starts no goroutines and logs nothing. It builds
// and tests under GOOS=js GOARCH=wasm, so the browser client and the server
// share one implementation.
//
// # Wire format
//
// A websocket binary message carries one frame, or several back to back
// when the receiver said it reads batches ([Hello].Batch,
// [Welcome].Batch); [Next] splits a message into its frames. A frame is a
// msgpack map whose keys are one-letter strings. The key "t" holds the frame's
// [MessageType]; the other keys depend on the type and are listed in each
// type's doc comment.
//
//	map {
//	    "t": MessageType (positive fixint, the constants below)
//	    "i": request id (uint32, frames that ask for or give a reply)
//	    ...: the type's own keys
//	}
//
// A reader skips keys it does not know, and [Decode] reports frames of an
// unknown type with [ErrUnknownType] so that a receiver can skip them: new
// keys and types can be added without breaking old peers. A shipped letter
// is never renamed or reused.
//
// # Untrusted input
//
// [Decode] first walks the bytes with [Check]: every declared length must fit
// in the bytes that remain and nesting is bounded by [MaxDepth]. Only then
// are they decoded. A frame that claims 2^32 array elements in eight bytes
// is rejected before anything is allocated.
//
// Frames are encoded and decoded without reflection: each type lists its
// fields once (fields.go), and the bytes are those the msgpack library
// writes for the struct tags with compact integers and sorted map keys
// (FuzzDecode holds the codec to the library both ways).
//
// # Versions
//
// A client opens with [Hello] carrying [Version]; the server answers with
// [Welcome] or with an [Error] of code [CodeBadVersion] and closes.
package protocol
