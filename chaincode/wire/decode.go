package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Marshal is the one JSON encoder used for ledger values and documents:
// struct field order, no HTML escaping, no trailing newline.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	out := b.Bytes()
	return out[:len(out)-1], nil
}

// DecodeStrict decodes exactly one JSON object from data into v (a pointer to
// a struct). It refuses, with CodeInvalid: more than maxBytes, invalid UTF-8,
// a top level that is not an object, unknown fields, and trailing data.
func DecodeStrict(data []byte, v any, maxBytes int) error {
	if len(data) == 0 {
		return Errorf(CodeInvalid, "document is empty")
	}
	if len(data) > maxBytes {
		return Errorf(CodeInvalid, "document larger than %d bytes", maxBytes)
	}
	if !utf8.Valid(data) {
		return Errorf(CodeInvalid, "document is not valid UTF-8")
	}
	if first := bytes.TrimLeft(data, " \t\r\n"); len(first) == 0 || first[0] != '{' {
		return Errorf(CodeInvalid, "document must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Errorf(CodeInvalid, "malformed document: %s", jsonErrText(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Errorf(CodeInvalid, "trailing data after the JSON object")
	}
	return nil
}

// DecodeSigned is DecodeStrict plus the rules that make a signed document
// mean one thing to every parser: no duplicate object keys and every key
// spelled exactly as a field of v (encoding/json would otherwise match keys
// case-insensitively).
func DecodeSigned(data []byte, v any, maxBytes int) error {
	if len(data) > maxBytes {
		return Errorf(CodeInvalid, "document larger than %d bytes", maxBytes)
	}
	if err := checkExactKeys(data, jsonNames(reflect.TypeOf(v))); err != nil {
		return err
	}
	return DecodeStrict(data, v, maxBytes)
}

func jsonErrText(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "json: ")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// jsonNames collects the JSON names of all fields reachable from t.
func jsonNames(t reflect.Type) map[string]bool {
	names := map[string]bool{}
	var walk func(t reflect.Type, depth int)
	walk = func(t reflect.Type, depth int) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || depth > 8 {
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			names[name] = true
			walk(f.Type, depth+1)
		}
	}
	walk(t, 0)
	return names
}

// checkExactKeys walks the tokens of data and refuses duplicate keys within
// an object and keys that are not in allowed (exact, case-sensitive).
func checkExactKeys(data []byte, allowed map[string]bool) error {
	type frame struct {
		object    bool
		expectKey bool
		keys      map[string]bool
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return Errorf(CodeInvalid, "malformed document: %s", jsonErrText(err))
		}
		n := len(stack)
		if n > 0 && stack[n-1].object && stack[n-1].expectKey {
			if tok == json.Delim('}') {
				stack = stack[:n-1]
				if len(stack) == 0 {
					return nil
				}
				valueDone()
				continue
			}
			key, _ := tok.(string)
			if !allowed[key] {
				return Errorf(CodeInvalid, "unknown field %q", key)
			}
			if stack[n-1].keys[key] {
				return Errorf(CodeInvalid, "duplicate field %q", key)
			}
			stack[n-1].keys[key] = true
			stack[n-1].expectKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, expectKey: true, keys: map[string]bool{}})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim(']'), json.Delim('}'):
			if n > 0 {
				stack = stack[:n-1]
			}
			valueDone()
		default:
			valueDone()
		}
		if len(stack) == 0 {
			// One complete top-level value; trailing data is DecodeStrict's job.
			return nil
		}
	}
}

// DecodeAppendRequest strictly decodes, validates and normalises one
// AppendRequest.
func DecodeAppendRequest(data []byte) (AppendRequest, error) {
	var r AppendRequest
	if err := DecodeStrict(data, &r, MaxRequestBytes); err != nil {
		return AppendRequest{}, err
	}
	if err := r.Normalize(); err != nil {
		return AppendRequest{}, err
	}
	return r, nil
}

// DecodeAppendBatch strictly decodes, validates and normalises an
// AppendBatch: 1..MaxBatch records, no record ID twice.
func DecodeAppendBatch(data []byte) (AppendBatch, error) {
	var b AppendBatch
	if err := DecodeStrict(data, &b, MaxBatchBytes); err != nil {
		return AppendBatch{}, err
	}
	if len(b.Records) == 0 {
		return AppendBatch{}, Errorf(CodeInvalid, "records is empty")
	}
	if len(b.Records) > MaxBatch {
		return AppendBatch{}, Errorf(CodeInvalid, "more than %d records in one batch", MaxBatch)
	}
	seen := make(map[string]int, len(b.Records))
	for i := range b.Records {
		if err := b.Records[i].Normalize(); err != nil {
			e := AsError(err)
			return AppendBatch{}, Errorf(e.Code, "records[%d]: %s", i, e.Message)
		}
		if j, dup := seen[b.Records[i].RecordID]; dup {
			return AppendBatch{}, Errorf(CodeInvalid, "records[%d]: recordId repeats records[%d]", i, j)
		}
		seen[b.Records[i].RecordID] = i
	}
	return b, nil
}
