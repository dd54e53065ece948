package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
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

// checkDocument refuses what no decoder of a document accepts: nothing, more
// than maxBytes, invalid UTF-8, a top level that is not an object.
func checkDocument(data []byte, maxBytes int) error {
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
	return nil
}

// DecodeStrict decodes exactly one JSON object from data into v (a pointer to
// a struct). It refuses, with CodeInvalid: more than maxBytes, invalid UTF-8,
// a top level that is not an object, unknown fields, and trailing data.
func DecodeStrict(data []byte, v any, maxBytes int) error {
	if err := checkDocument(data, maxBytes); err != nil {
		return err
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

// DecodeSigned decodes a signed document under the rules that make it mean
// one thing to every parser: what DecodeStrict refuses, plus duplicate object
// keys and keys not spelled exactly as a field of v (encoding/json would match
// "KIND" to "kind"). These are the defaults of JSON v2 (the upstream module of
// the standard library's encoding/json/v2), which also checks them in one pass,
// several times faster than walking the tokens first.
func DecodeSigned(data []byte, v any, maxBytes int) error {
	if err := checkDocument(data, maxBytes); err != nil {
		return err
	}
	if err := jsonv2.Unmarshal(data, v, jsonv2.RejectUnknownMembers(true)); err != nil {
		return Errorf(CodeInvalid, "%s", signedErrText(err))
	}
	return nil
}

// signedErrText says what JSON v2 refused, by field path and without Go type
// names.
func signedErrText(err error) string {
	var sem *jsonv2.SemanticError
	var syn *jsontext.SyntacticError
	switch {
	case errors.Is(err, jsonv2.ErrUnknownName) && errors.As(err, &sem):
		return fmt.Sprintf("unknown field %q%s", sem.JSONPointer.LastToken(), at(sem.JSONPointer.Parent()))
	case errors.Is(err, jsontext.ErrDuplicateName) && errors.As(err, &syn):
		return fmt.Sprintf("duplicate field %q%s", syn.JSONPointer.LastToken(), at(syn.JSONPointer.Parent()))
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed document at byte %d%s", syn.ByteOffset, at(syn.JSONPointer))
	case errors.As(err, &sem) && sem.JSONKind != 0:
		return fmt.Sprintf("wrong type of value (JSON %s)%s", sem.JSONKind, at(sem.JSONPointer))
	case errors.As(err, &sem):
		return "wrong value" + at(sem.JSONPointer)
	}
	return "malformed document"
}

func jsonErrText(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "json: ")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

func at(p jsontext.Pointer) string {
	if p == "" {
		return ""
	}
	return " at " + string(p)
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
