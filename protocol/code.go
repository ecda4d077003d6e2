package protocol

import "github.com/synkhq/synk/internal/wraperr"

// Code is a stable numeric error code carried by an [Error] frame under key
// "e", and by a websocket close status of 4000+Code.
//
// The hundreds tell the client what to do:
//
//	1xx  the connection is unusable; the server closes it. Do not retry
//	     the same bytes: fix the client.
//	2xx  the request failed; the connection and its rooms stay as they were.
//	3xx  the session ended for a passing reason; reconnect with backoff.
//	4xx  the session ended for good; do not reconnect on your own.
type Code uint16

// Error codes. The values are part of the wire format and never change.
const (
	CodeBadFrame      Code = 100 // not a well-formed frame, or a frame of the wrong direction
	CodeBadVersion    Code = 101 // the Hello's version is not supported
	CodeFrameTooLarge Code = 102 // the frame is larger than the server's limit
	CodeHelloFirst    Code = 103 // the first frame was not a Hello

	CodeBadRequest       Code = 200 // a required key is missing or has a wrong value
	CodeBadName          Code = 201 // a room, client or key name breaks the naming rules
	CodeNotJoined        Code = 202 // the room was not joined on this connection
	CodeAlreadyJoined    Code = 203 // the room is already joined on this connection
	CodeReadOnly         Code = 204 // an observer tried to write
	CodeTooManyKeys      Code = 205 // the client's map would exceed the key limit
	CodeValueTooLarge    Code = 206 // a value exceeds the value size limit
	CodeTooManyRooms     Code = 207 // the connection would exceed the room limit
	CodeConflict         Code = 208 // the client id is held by a live websocket member
	CodeNotFound         Code = 209 // the object does not exist
	CodeExists           Code = 210 // an object with that id already exists
	CodeStale            Code = 211 // the object's version is not the one the write expected
	CodeTooMany          Code = 212 // a limit on objects, areas or pending meets
	CodeCanceled         Code = 213 // the request was canceled by the client
	CodeExpired          Code = 214 // the request's timeout passed before it was answered
	CodeForbidden        Code = 215 // the token does not allow this action in this room
	CodeUnsupported      Code = 216 // the server does not offer this in its configuration
	CodeOverloaded       Code = 217 // a server-wide budget (memory, rooms, uploads) is used up; try again later
	CodeMethodNotAllowed Code = 218 // HTTP only: the path exists, but not for this method (the Allow header lists them)

	CodeShutdown     Code = 300 // the server is shutting down
	CodeTimeout      Code = 301 // nothing was heard from the peer within the timeout
	CodeSlowConsumer Code = 302 // the client read too slowly and its queue overflowed
	CodeInternal     Code = 303 // the server failed; try again later
	CodeRateLimited  Code = 304 // the client sent frames faster than its rate limit allows

	CodeReplaced     Code = 400 // another connection joined the room with the same client id
	CodeUnauthorized Code = 401 // no token, or a token that is invalid or expired
)

// Retry reports whether a client should reconnect after a session ended
// with code c.
func (c Code) Retry() bool { return c >= 300 && c < 400 }

// CloseStatus returns the websocket close status that carries c: 4000+c.
func (c Code) CloseStatus() int { return 4000 + int(c) }

// CodeFromCloseStatus returns the code carried by a websocket close status,
// or 0 if the status does not carry one.
func CodeFromCloseStatus(status int) Code {
	if status < 4100 || status > 4999 {
		return 0
	}
	return Code(status - 4000)
}

// ErrorCode returns the code of the first [*Error] in err's chain, or 0.
func ErrorCode(err error) Code {
	if e, ok := wraperr.Find[*Error](err); ok {
		return e.Code
	}
	return 0
}

// newError returns an [*Error] with code c and message msg.
func newError(c Code, msg string) *Error { return &Error{Code: c, Message: msg} }
