package httpsig

// A strict parser and serializer for the subset of RFC 8941 structured field
// values that HTTP Message Signatures and Content-Digest need: dictionaries
// whose members are items or inner lists, with parameters; bare items of type
// integer, string, token, byte sequence and boolean. Decimals are not
// supported (nothing here uses them) and are refused. Unlike RFC 8941, which
// lets a later duplicate key win, duplicate dictionary keys and duplicate
// parameter keys are refused: for signatures an ambiguous header is an attack
// surface, not a convenience.

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

type itemKind uint8

const (
	kindInteger itemKind = iota + 1
	kindString
	kindToken
	kindBytes
	kindBoolean
)

type bareItem struct {
	kind itemKind
	i    int64
	s    string // string or token
	b    []byte
	bo   bool
}

type param struct {
	key string
	val bareItem
}

type sfItem struct {
	val    bareItem
	params []param
}

type innerList struct {
	items  []sfItem
	params []param
}

type member struct {
	key    string
	isList bool
	list   innerList
	item   sfItem
}

// sfErr builds a parse error; every one wraps ErrMalformed.
func sfErr(msg string) error { return fmt.Errorf("%w: structured field: %s", ErrMalformed, msg) }

const maxInteger = 999_999_999_999_999

type sfParser struct {
	s   string
	pos int
}

func (p *sfParser) eof() bool  { return p.pos >= len(p.s) }
func (p *sfParser) peek() byte { return p.s[p.pos] }

func (p *sfParser) skipSP() {
	for !p.eof() && p.peek() == ' ' {
		p.pos++
	}
}

func (p *sfParser) skipOWS() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t') {
		p.pos++
	}
}

// parseDictionary parses a whole field value as a Dictionary (RFC 8941
// §4.2.2), keeping member order.
func parseDictionary(s string) ([]member, error) {
	p := &sfParser{s: s}
	p.skipSP()
	var out []member
	seen := map[string]bool{}
	for !p.eof() {
		key, err := p.parseKey()
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, sfErr("duplicate dictionary key " + strconv.Quote(key))
		}
		seen[key] = true
		m := member{key: key}
		if !p.eof() && p.peek() == '=' {
			p.pos++
			if !p.eof() && p.peek() == '(' {
				m.isList = true
				m.list, err = p.parseInnerList()
			} else {
				m.item, err = p.parseItem()
			}
			if err != nil {
				return nil, err
			}
		} else {
			m.item.val = bareItem{kind: kindBoolean, bo: true}
			if m.item.params, err = p.parseParameters(); err != nil {
				return nil, err
			}
		}
		out = append(out, m)
		p.skipOWS()
		if p.eof() {
			return out, nil
		}
		if p.peek() != ',' {
			return nil, sfErr("expected ',' in dictionary")
		}
		p.pos++
		p.skipOWS()
		if p.eof() {
			return nil, sfErr("trailing ',' in dictionary")
		}
	}
	// Only reachable for an empty (or all-space) field.
	return nil, sfErr("empty dictionary")
}

func isLCAlpha(c byte) bool { return c >= 'a' && c <= 'z' }
func isAlpha(c byte) bool   { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool   { return c >= '0' && c <= '9' }

// isTchar reports whether c is a token character (RFC 9110 tchar).
func isTchar(c byte) bool {
	if isAlpha(c) || isDigit(c) {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func (p *sfParser) parseKey() (string, error) {
	if p.eof() || !(isLCAlpha(p.peek()) || p.peek() == '*') {
		return "", sfErr("invalid key")
	}
	start := p.pos
	for !p.eof() {
		c := p.peek()
		if !(isLCAlpha(c) || isDigit(c) || c == '_' || c == '-' || c == '.' || c == '*') {
			break
		}
		p.pos++
	}
	return p.s[start:p.pos], nil
}

func (p *sfParser) parseInnerList() (innerList, error) {
	var l innerList
	if p.eof() || p.peek() != '(' {
		return l, sfErr("expected '('")
	}
	p.pos++
	for !p.eof() {
		p.skipSP()
		if p.eof() {
			break
		}
		if p.peek() == ')' {
			p.pos++
			var err error
			l.params, err = p.parseParameters()
			return l, err
		}
		it, err := p.parseItem()
		if err != nil {
			return l, err
		}
		l.items = append(l.items, it)
		if p.eof() || (p.peek() != ' ' && p.peek() != ')') {
			return l, sfErr("expected ' ' or ')' in inner list")
		}
	}
	return l, sfErr("unterminated inner list")
}

func (p *sfParser) parseItem() (sfItem, error) {
	v, err := p.parseBareItem()
	if err != nil {
		return sfItem{}, err
	}
	params, err := p.parseParameters()
	return sfItem{val: v, params: params}, err
}

func (p *sfParser) parseParameters() ([]param, error) {
	var out []param
	for !p.eof() && p.peek() == ';' {
		p.pos++
		p.skipSP()
		key, err := p.parseKey()
		if err != nil {
			return nil, err
		}
		for _, q := range out {
			if q.key == key {
				return nil, sfErr("duplicate parameter " + strconv.Quote(key))
			}
		}
		v := bareItem{kind: kindBoolean, bo: true}
		if !p.eof() && p.peek() == '=' {
			p.pos++
			if v, err = p.parseBareItem(); err != nil {
				return nil, err
			}
		}
		out = append(out, param{key: key, val: v})
	}
	return out, nil
}

func (p *sfParser) parseBareItem() (bareItem, error) {
	if p.eof() {
		return bareItem{}, sfErr("missing item")
	}
	switch c := p.peek(); {
	case c == '-' || isDigit(c):
		return p.parseInteger()
	case c == '"':
		return p.parseString()
	case c == ':':
		return p.parseBytes()
	case c == '?':
		return p.parseBoolean()
	case isAlpha(c) || c == '*':
		return p.parseToken()
	default:
		return bareItem{}, sfErr("invalid item")
	}
}

func (p *sfParser) parseInteger() (bareItem, error) {
	neg := false
	if p.peek() == '-' {
		neg = true
		p.pos++
	}
	start := p.pos
	for !p.eof() && isDigit(p.peek()) {
		p.pos++
		if p.pos-start > 15 {
			return bareItem{}, sfErr("integer too long")
		}
	}
	if p.pos == start {
		return bareItem{}, sfErr("invalid integer")
	}
	if !p.eof() && p.peek() == '.' {
		return bareItem{}, sfErr("decimals are not supported")
	}
	n, err := strconv.ParseInt(p.s[start:p.pos], 10, 64)
	if err != nil || n > maxInteger {
		return bareItem{}, sfErr("invalid integer")
	}
	if neg {
		n = -n
	}
	return bareItem{kind: kindInteger, i: n}, nil
}

func (p *sfParser) parseString() (bareItem, error) {
	p.pos++ // opening quote
	var b strings.Builder
	for !p.eof() {
		c := p.peek()
		p.pos++
		switch {
		case c == '\\':
			if p.eof() {
				return bareItem{}, sfErr("unterminated string")
			}
			e := p.peek()
			if e != '"' && e != '\\' {
				return bareItem{}, sfErr("invalid escape in string")
			}
			p.pos++
			b.WriteByte(e)
		case c == '"':
			return bareItem{kind: kindString, s: b.String()}, nil
		case c < 0x20 || c > 0x7e:
			return bareItem{}, sfErr("invalid character in string")
		default:
			b.WriteByte(c)
		}
	}
	return bareItem{}, sfErr("unterminated string")
}

func (p *sfParser) parseToken() (bareItem, error) {
	start := p.pos
	p.pos++
	for !p.eof() && (isTchar(p.peek()) || p.peek() == ':' || p.peek() == '/') {
		p.pos++
	}
	return bareItem{kind: kindToken, s: p.s[start:p.pos]}, nil
}

func isBase64Char(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == '+' || c == '/' || c == '='
}

func (p *sfParser) parseBytes() (bareItem, error) {
	p.pos++ // opening ':'
	start := p.pos
	for !p.eof() && p.peek() != ':' {
		if !isBase64Char(p.peek()) {
			return bareItem{}, sfErr("invalid character in byte sequence")
		}
		p.pos++
	}
	if p.eof() {
		return bareItem{}, sfErr("unterminated byte sequence")
	}
	enc := p.s[start:p.pos]
	p.pos++ // closing ':'
	// '=' only as padding at the end; padding itself is optional (RFC 8941
	// §4.2.7 asks parsers not to insist on it).
	trimmed := strings.TrimRight(enc, "=")
	if strings.Contains(trimmed, "=") || len(enc)-len(trimmed) > 2 {
		return bareItem{}, sfErr("invalid padding in byte sequence")
	}
	if len(enc) != len(trimmed) && len(enc)%4 != 0 {
		return bareItem{}, sfErr("invalid padding in byte sequence")
	}
	b, err := base64.RawStdEncoding.DecodeString(trimmed)
	if err != nil {
		return bareItem{}, sfErr("invalid base64 in byte sequence")
	}
	return bareItem{kind: kindBytes, b: b}, nil
}

func (p *sfParser) parseBoolean() (bareItem, error) {
	p.pos++ // '?'
	if p.eof() {
		return bareItem{}, sfErr("invalid boolean")
	}
	c := p.peek()
	p.pos++
	switch c {
	case '1':
		return bareItem{kind: kindBoolean, bo: true}, nil
	case '0':
		return bareItem{kind: kindBoolean, bo: false}, nil
	}
	return bareItem{}, sfErr("invalid boolean")
}

// --- serialization (RFC 8941 §4.1) ---

// validSFString reports whether s can be serialized as an sf-string.
func validSFString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func writeBareItem(b *strings.Builder, v bareItem) {
	switch v.kind {
	case kindInteger:
		b.WriteString(strconv.FormatInt(v.i, 10))
	case kindString:
		b.WriteByte('"')
		for i := 0; i < len(v.s); i++ {
			if v.s[i] == '"' || v.s[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(v.s[i])
		}
		b.WriteByte('"')
	case kindToken:
		b.WriteString(v.s)
	case kindBytes:
		b.WriteByte(':')
		b.WriteString(base64.StdEncoding.EncodeToString(v.b))
		b.WriteByte(':')
	case kindBoolean:
		if v.bo {
			b.WriteString("?1")
		} else {
			b.WriteString("?0")
		}
	}
}

func writeParams(b *strings.Builder, params []param) {
	for _, p := range params {
		b.WriteByte(';')
		b.WriteString(p.key)
		if p.val.kind == kindBoolean && p.val.bo {
			continue
		}
		b.WriteByte('=')
		writeBareItem(b, p.val)
	}
}

func serializeInnerList(l innerList) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, it := range l.items {
		if i > 0 {
			b.WriteByte(' ')
		}
		writeBareItem(&b, it.val)
		writeParams(&b, it.params)
	}
	b.WriteByte(')')
	writeParams(&b, l.params)
	return b.String()
}
