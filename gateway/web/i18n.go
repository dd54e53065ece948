package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"
)

//go:embed messages/*.json
var messageFS embed.FS

// catalogue is one language's messages, key -> text (fmt verbs for arguments).
type catalogue map[string]string

func (c catalogue) has(key string) bool { _, ok := c[key]; return ok }

// t returns the message for key; a missing key shows as the key itself (the catalogue
// test keeps that from happening).
func (c catalogue) t(key string, args ...any) string {
	m, ok := c[key]
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(m, args...)
	}
	return m
}

func loadCatalogues() (map[string]catalogue, error) {
	out := map[string]catalogue{}
	for _, l := range languages {
		b, err := messageFS.ReadFile("messages/" + l + ".json")
		if err != nil {
			return nil, fmt.Errorf("web: messages %s: %w", l, err)
		}
		c := catalogue{}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("web: messages %s: %w", l, err)
		}
		out[l] = c
	}
	return out, nil
}
