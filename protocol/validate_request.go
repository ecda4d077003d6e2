//go:build !synkbrowser

package protocol

import "strconv"

// validateRequest checks the frames a client sends, which a server
// decodes: their request id and the rules of their type. The browser
// bundle (-tags synkbrowser) decodes only what a server sends and leaves
// this out (validate_browser.go).
func validateRequest(m Message) (id uint32, err error) {
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
	case *Send:
		id = m.ID
		err = firstErr(CheckRoom(m.Room), CheckKey(m.Topic))
		if err == nil && m.To != "" {
			err = CheckClient(m.To)
		}
		if err == nil && m.Area != "" {
			err = CheckKey(m.Area)
		}
		if err == nil && len(m.Data) == 0 {
			err = newError(CodeBadRequest, "send has no data \"d\"")
		}
	}
	return id, err
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
