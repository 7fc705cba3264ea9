package registry

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, checked with errors.Is.
var (
	ErrUnknown     = errors.New("registry: unknown name")
	ErrWrongKind   = errors.New("registry: wrong kind")
	ErrDuplicate   = errors.New("registry: name already registered")
	ErrInvalidName = errors.New("registry: invalid name")
	ErrNilFactory  = errors.New("registry: nil factory")
)

// UnknownError reports a name that nothing registered, with the closest known names.
type UnknownError struct {
	Name    string
	Closest []string
}

func (e *UnknownError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "registry: unknown name %q", e.Name)
	if len(e.Closest) > 0 {
		fmt.Fprintf(&b, " (did you mean %s?)", quoteList(e.Closest))
	}
	b.WriteString("; undeclared plugin, or a component never registered?")
	return b.String()
}

func (e *UnknownError) Unwrap() error { return ErrUnknown }

// WrongKindError reports a name registered with another kind than the one asked for.
type WrongKindError struct {
	Name     string
	Expected Kind
	Actual   Kind
}

func (e *WrongKindError) Error() string {
	return fmt.Sprintf("registry: %q is a %s, expected a %s", e.Name, e.Actual, e.Expected)
}

func (e *WrongKindError) Unwrap() error { return ErrWrongKind }

// DuplicateError reports a second registration of a name or alias.
type DuplicateError struct {
	Name     string
	Existing Entry
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("registry: %q already registered (%s %s from %s)", e.Name, e.Existing.Kind(), e.Existing.Name, e.Existing.Origin)
}

func (e *DuplicateError) Unwrap() error { return ErrDuplicate }

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, " or ")
}
