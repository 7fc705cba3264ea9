package jobdir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// StateFile is the name of the spider state file in a job directory.
const StateFile = "spider.state"

// pickleProto is how a pickle (Scrapy's spider.state) starts: PROTO opcode.
const pickleProto = 0x80

// DecodeState decodes a spider.state file: a JSON object. Numbers written as
// integers come back as int64 (so a float with an integral value saved as
// 2.0 comes back as int64 2, since JSON writes it "2"), others as float64;
// objects as map[string]any and arrays as []any. Anything else is an error wrapping [ErrCorruptState]
// that gives the byte offset.
func DecodeState(b []byte) (map[string]any, error) {
	if len(b) > 0 && b[0] == pickleProto {
		return nil, fmt.Errorf("%w: it is a Python pickle (Scrapy's spider.state), which frontier does not read: move it aside to start with an empty state", ErrCorruptState)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w: at byte %d: %w", ErrCorruptState, se.Offset, err)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: truncated at byte %d", ErrCorruptState, len(b))
		}
		return nil, fmt.Errorf("%w: %w", ErrCorruptState, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the JSON object at byte %d", ErrCorruptState, dec.InputOffset())
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: want a JSON object, got %s", ErrCorruptState, jsonKind(v))
	}
	if err := normalizeNumbers(m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptState, err)
	}
	return m, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}

// normalizeNumbers replaces, in place, each json.Number inside maps and
// slices by an int64 or a float64.
func normalizeNumbers(v any) error {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			n, err := number(e)
			if err != nil {
				return err
			}
			t[k] = n
		}
	case []any:
		for i, e := range t {
			n, err := number(e)
			if err != nil {
				return err
			}
			t[i] = n
		}
	}
	return nil
}

func number(v any) (any, error) {
	n, ok := v.(json.Number)
	if !ok {
		return v, normalizeNumbers(v)
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return nil, fmt.Errorf("number %s out of range", n)
	}
	return f, nil
}

// EncodeState returns state as written to spider.state. A nil state is an
// empty object. A value JSON cannot hold is an error wrapping
// [ErrUnserializableState].
func EncodeState(state map[string]any) ([]byte, error) {
	if state == nil {
		state = map[string]any{}
	}
	b, err := json.Marshal(state)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnserializableState, err)
	}
	return append(b, '\n'), nil
}

// LoadState reads dir's spider.state: an empty map when there is none, as
// Scrapy's SpiderState.
func LoadState(dir string) (map[string]any, error) {
	path := filepath.Join(dir, StateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("jobdir: read %s: %w", path, err)
	}
	m, err := DecodeState(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// SaveState writes state to dir's spider.state atomically (temporary file,
// fsync, rename, fsync of the directory).
func SaveState(dir string, state map[string]any) error {
	b, err := EncodeState(state)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, StateFile), err)
	}
	return WriteFileAtomic(filepath.Join(dir, StateFile), b, 0o644)
}
