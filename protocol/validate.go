package protocol

import "strconv"

// validate checks the rules of m's type that the msgpack types alone do not
// enforce. Its errors are [*Error] values carrying m's request id.
func validate(m Message) error {
	id, err := validateRequest(m)
	switch m := m.(type) {
	case *Object:
		if m.Event < ObjectPut || m.Event > ObjectDelete {
			err = newError(CodeBadRequest, "unknown object event "+strconv.Itoa(int(m.Event)))
		}
	case *Presence:
		if m.Event < EventJoin || m.Event > EventLeave {
			err = newError(CodeBadRequest, "unknown presence event "+strconv.Itoa(int(m.Event)))
		}
	}
	if e, ok := err.(*Error); ok {
		e.ID = id
		if r := roomOf(m); r != "" && e.Code != CodeBadName {
			e.Room = r
		}
	}
	return err
}

func roomOf(m Message) string {
	switch m := m.(type) {
	case *Join:
		return m.Room
	case *Leave:
		return m.Room
	case *Set:
		return m.Room
	case *Sub:
		return m.Room
	case *Write:
		return m.Room
	case *Meet:
		return m.Room
	case *Send:
		return m.Room
	}
	return ""
}

// MaxActorLen is the longest actor name of a [Meet].
const MaxActorLen = 63

// CheckActor returns a [CodeBadRequest] error unless actor is a valid
// actor name: a Kubernetes label value that is not empty (1 to 63 bytes of
// A-Z a-z 0-9 - _ ., starting and ending with a letter or digit), since it
// is the default label and selector value.
func CheckActor(actor string) error {
	if actor == "" || len(actor) > MaxActorLen {
		return newError(CodeBadRequest, "actor must be 1 to "+strconv.Itoa(MaxActorLen)+" bytes, got "+strconv.Itoa(len(actor)))
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	for i := 0; i < len(actor); i++ {
		c := actor[i]
		if !alnum(c) && c != '-' && c != '_' && c != '.' {
			return newError(CodeBadRequest, "actor "+strconv.Quote(actor)+": byte "+strconv.Itoa(i)+" ("+strconv.QuoteRune(rune(c))+") is not one of A-Z a-z 0-9 - _ .")
		}
	}
	if !alnum(actor[0]) || !alnum(actor[len(actor)-1]) {
		return newError(CodeBadRequest, "actor "+strconv.Quote(actor)+" must start and end with a letter or digit")
	}
	return nil
}
