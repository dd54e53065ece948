package api

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeStrict: whatever decodeStrict accepts is exactly one valid JSON object
// whose keys are spelled as the struct's fields, and a refusal is always invalid (never
// a panic).
func FuzzDecodeStrict(f *testing.F) {
	for _, seed := range []string{
		`{"kind":"person","idNumber":"110101202611201235"}`,
		`{"kind":"person","idNumber":"1"}] not json`,
		`{"KIND":"person"}`,
		`{"kind":"person"}{"kind":"x"}`,
		`{"kind":"a","kind":"b"}`,
		`{"kind":"person","nested":{"a":1}}`,
		` {"kind":"person"} `,
		`[]`, `null`, `"x"`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v struct {
			Kind     string `json:"kind"`
			IDNumber string `json:"idNumber"`
		}
		err := decodeStrict(body, &v)
		if err != nil {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(body, &keys); err != nil {
			t.Fatalf("accepted a non-object %q", body)
		}
		for k := range keys {
			if k != "kind" && k != "idNumber" {
				t.Fatalf("accepted key %q in %q", k, body)
			}
		}
	})
}
