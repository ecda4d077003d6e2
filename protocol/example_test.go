package protocol_test

import (
	"errors"
	"fmt"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

func ExampleEncode() {
	b, err := protocol.Encode(&protocol.Join{ID: 1, Room: "lobby", Observer: true})
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", b)
	// Output: 84 a1 74 03 a1 69 01 a1 72 a5 6c 6f 62 62 79 a1 6f c3
}

func ExampleDecode() {
	// {"t":8,"r":"lobby","e":3,"c":"joe"}
	in := []byte{0x84, 0xa1, 0x74, 0x08, 0xa1, 0x72, 0xa5, 'l', 'o', 'b', 'b', 'y',
		0xa1, 0x65, 0x03, 0xa1, 0x63, 0xa3, 'j', 'o', 'e'}
	m, err := protocol.Decode(in)
	if err != nil {
		panic(err)
	}
	p := m.(*protocol.Presence)
	fmt.Println(p.Event, p.Client, "in", p.Room)

	// A map claiming 2^32-1 entries in 8 bytes is refused before decoding.
	_, err = protocol.Decode([]byte{0x81, 0xa1, 0x6f, 0xdd, 0xff, 0xff, 0xff, 0xff})
	fmt.Println(errors.Is(err, protocol.ErrMalformed))
	// Output:
	// Leave joe in lobby
	// true
}

func ExampleEntry() {
	v, _ := msgpack.Marshal([]float32{0, 1.6, 0})
	b, _ := protocol.Encode(&protocol.Set{Handle: 1, Entries: []protocol.Entry{{Key: "pos", Value: v}}})
	fmt.Println(len(b), "bytes")
	// Output: 30 bytes
}

func ExampleErrorCode() {
	_, err := protocol.Decode([]byte{0x83, 0xa1, 0x74, 0x05, 0xa1, 0x69, 0x01, 0xa1, 0x72, 0xa3, 'a', '/', 'b'})
	fmt.Println(protocol.ErrorCode(err), protocol.ErrorCode(err).Retry())
	// Output: BadName false
}
