package protocol

//go:generate go tool stringer -type=MessageType -trimprefix=Type -output=type_string.go
//go:generate go tool stringer -type=Code -trimprefix=Code -output=code_string.go
//go:generate go tool stringer -type=PresenceEvent -trimprefix=Event -output=event_string.go
//go:generate go tool stringer -type=ObjectOp,ObjectEvent -output=object_string.go

// MessageType is the kind of a frame, sent under key "t".
type MessageType uint8

// Frame types. The values are part of the wire format and never change.
const (
	TypeHello    MessageType = 1  // client → server, first frame
	TypeWelcome  MessageType = 2  // server → client, answer to Hello
	TypeJoin     MessageType = 3  // client → server
	TypeJoined   MessageType = 4  // server → client, answer to Join
	TypeLeave    MessageType = 5  // client → server
	TypeSet      MessageType = 6  // client → server
	TypeOK       MessageType = 7  // server → client, answer to Leave and Set
	TypePresence MessageType = 8  // server → client
	TypePing     MessageType = 9  // either way
	TypePong     MessageType = 10 // either way, answer to Ping
	TypeError    MessageType = 11 // server → client
	TypeSub      MessageType = 12 // client → server: change the areas of objects to receive
	TypeWrite    MessageType = 13 // client → server: create, update, move or delete an object
	TypeObject   MessageType = 14 // server → client: an object entered, changed, moved or left the view
	TypeMeet     MessageType = 15 // client → server: wait to meet others on an event
	TypeCancel   MessageType = 16 // client → server: withdraw a pending Meet
	TypeMet      MessageType = 17 // server → client: answer to Meet, the group's payloads
	TypeSend     MessageType = 18 // client → server: a message to a room's other members, or one
	TypeSent     MessageType = 19 // server → client: a message another member sent
)

// Message is one frame. Each frame type is a struct in this package.
type Message interface {
	// Type returns the frame type written under key "t".
	Type() MessageType
}

// newMessage returns a zero message of type t, or nil for an unknown type.
func newMessage(t MessageType) Message {
	switch t {
	case TypeHello:
		return new(Hello)
	case TypeWelcome:
		return new(Welcome)
	case TypeJoin:
		return new(Join)
	case TypeJoined:
		return new(Joined)
	case TypeLeave:
		return new(Leave)
	case TypeSet:
		return new(Set)
	case TypeOK:
		return new(OK)
	case TypePresence:
		return new(Presence)
	case TypePing:
		return new(Ping)
	case TypePong:
		return new(Pong)
	case TypeError:
		return new(Error)
	case TypeSub:
		return new(Sub)
	case TypeWrite:
		return new(Write)
	case TypeObject:
		return new(Object)
	case TypeMeet:
		return new(Meet)
	case TypeCancel:
		return new(Cancel)
	case TypeMet:
		return new(Met)
	case TypeSend:
		return new(Send)
	case TypeSent:
		return new(Sent)
	}
	return nil
}
