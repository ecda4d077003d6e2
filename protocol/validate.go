package protocol

import "strconv"

// validate checks the rules of m's type that the msgpack types alone do not
// enforce. Its errors are [*Error] values carrying m's request id.
func validate(m Message) error {
	var id uint32
	var err error
	switch m := m.(type) {
	case *Hello:
		if m.Client != "" {
			err = CheckClient(m.Client)
		}
		if err == nil && m.Secret != "" && (m.Client == "" || len(m.Secret) > MaxSecret) {
			err = newError(CodeBadRequest, "a resume secret goes with its client id, and has at most "+strconv.Itoa(MaxSecret)+" bytes")
		}
	case *Join:
		id = m.ID
		err = firstErr(needID(m.ID), CheckRoom(m.Room), checkEntries(m.Entries))
		if err == nil && m.Observer && len(m.Entries) > 0 {
			err = newError(CodeBadRequest, "an observer cannot publish entries")
		}
	case *Leave:
		id = m.ID
		err = firstErr(needID(m.ID), CheckRoom(m.Room))
	case *Set:
		id = m.ID
		err = firstErr(checkSetRoom(m), checkEntries(m.Entries), checkKeys(m.Delete))
		if err == nil && len(m.Entries) == 0 && len(m.Delete) == 0 {
			err = newError(CodeBadRequest, "set has no entries and no deletions")
		}
	case *Sub:
		id = m.ID
		err = firstErr(needID(m.ID), CheckRoom(m.Room), checkKeys(m.Add), checkKeys(m.Remove), checkResume(m))
		if err == nil && len(m.Add) == 0 && len(m.Remove) == 0 {
			err = newError(CodeBadRequest, "sub has no areas to add or remove")
		}
	case *Write:
		id = m.ID
		err = firstErr(needID(m.ID), CheckRoom(m.Room), CheckKey(m.Object), checkWrite(m))
	case *Meet:
		id = m.ID
		err = firstErr(needID(m.ID), checkMeet(m))
	case *Cancel:
		err = needID(m.ID)
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
	}
	return ""
}

// checkSetRoom checks that s names its room one way: by name or handle.
func checkSetRoom(s *Set) error {
	switch {
	case s.Handle != 0 && s.Room != "":
		return newError(CodeBadRequest, "set names its room twice: give \"r\" or \"h\"")
	case s.Handle != 0:
		return nil
	}
	return CheckRoom(s.Room)
}

func needID(id uint32) error {
	if id == 0 {
		return newError(CodeBadRequest, "request id \"i\" must not be 0")
	}
	return nil
}

func checkEntries(es []Entry) error {
	for _, e := range es {
		if err := CheckKey(e.Key); err != nil {
			return err
		}
		if len(e.Value) == 0 {
			return newError(CodeBadRequest, "entry "+strconv.Quote(e.Key)+" has no value")
		}
	}
	return nil
}

func checkKeys(keys []string) error {
	for _, k := range keys {
		if err := CheckKey(k); err != nil {
			return err
		}
	}
	return nil
}

// checkResume checks the resume keys of a Sub: "h" needs "f", and lists
// areas of "a"; a resuming Sub removes nothing.
func checkResume(m *Sub) error {
	if m.From == nil {
		if len(m.Held) > 0 {
			return newError(CodeBadRequest, "held areas \"h\" need a position \"f\"")
		}
		return nil
	}
	if m.From.Epoch == 0 {
		return newError(CodeBadRequest, "position epoch must not be 0")
	}
	if len(m.Remove) > 0 {
		return newError(CodeBadRequest, "a resuming sub removes no areas")
	}
	add := make(map[string]bool, len(m.Add))
	for _, a := range m.Add {
		add[a] = true
	}
	for _, h := range m.Held {
		if !add[h] {
			return newError(CodeBadRequest, "held area "+strconv.Quote(h)+" is not among the areas added")
		}
	}
	return checkKeys(m.Held)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkWrite checks that a Write carries what its op needs. Object types
// and areas follow the key rules.
func checkWrite(w *Write) error {
	if w.OpID != "" {
		if err := CheckKey(w.OpID); err != nil {
			return err
		}
	}
	switch w.Op {
	case OpCreate:
		return firstErr(CheckKey(w.Kind), CheckKey(w.Area), checkEntries(w.Fields))
	case OpUpdate:
		if len(w.Fields) == 0 && len(w.Delete) == 0 {
			return newError(CodeBadRequest, "update has no fields to store or remove")
		}
		return firstErr(checkEntries(w.Fields), checkKeys(w.Delete))
	case OpMove:
		return CheckKey(w.Area)
	case OpDelete:
		return nil
	}
	return newError(CodeBadRequest, "unknown object op "+strconv.Itoa(int(w.Op)))
}

// MaxActorLen is the longest actor name of a [Meet].
const MaxActorLen = 63

// checkMeet checks a Meet's names. Selectors and label syntax are the
// server's to check.
func checkMeet(m *Meet) error {
	if m.Room != "" {
		if err := CheckRoom(m.Room); err != nil {
			return err
		}
	}
	if err := CheckKey(m.Event); err != nil {
		return newError(CodeBadRequest, "event: "+err.(*Error).Message)
	}
	return CheckActor(m.Actor)
}

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
