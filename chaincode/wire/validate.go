package wire

import (
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// checkToken validates s against [A-Za-z0-9][A-Za-z0-9<extra>]{0,max-1}.
func checkToken(field, s string, maxLen int, extra string) error {
	if s == "" {
		return Errorf(CodeInvalid, "%s is required", field)
	}
	if len(s) > maxLen {
		return Errorf(CodeInvalid, "%s longer than %d bytes", field, maxLen)
	}
	if !isAlnum(s[0]) {
		return Errorf(CodeInvalid, "%s must start with a letter or digit", field)
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) {
			continue
		}
		ok := false
		for j := 0; j < len(extra); j++ {
			if c == extra[j] {
				ok = true
				break
			}
		}
		if !ok {
			return Errorf(CodeInvalid, "%s contains a character outside [A-Za-z0-9%s]", field, extra)
		}
	}
	return nil
}

// ValidateID checks a record or grant ID: 1..MaxIDLen characters of
// [A-Za-z0-9._:-], starting with a letter or digit.
func ValidateID(field, s string) error { return checkToken(field, s, MaxIDLen, "._:-") }

// ValidateSubjectID checks a subject ID: exactly the pseudonym form the
// gateway derives, "p-" (person) or "e-" (enterprise) followed by 32
// characters of lower-case RFC 4648 base32 ([a-z2-7]), SubjectIDLen in all.
// Anything else (an ID number, a credit code, a name) is CodeInvalid. The
// message never repeats the value.
func ValidateSubjectID(field, s string) error {
	if s == "" {
		return Errorf(CodeInvalid, "%s is required", field)
	}
	if len(s) != SubjectIDLen || (s[:2] != "p-" && s[:2] != "e-") {
		return Errorf(CodeInvalid, "%s must be a pseudonymous subject ID (p- or e- and 32 base32 characters)", field)
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return Errorf(CodeInvalid, "%s must be a pseudonymous subject ID (p- or e- and 32 base32 characters)", field)
		}
	}
	return nil
}

// ValidateMSPID checks an MSP ID: 1..MaxMSPIDLen characters of
// [A-Za-z0-9._-], starting with a letter or digit.
func ValidateMSPID(field, s string) error { return checkToken(field, s, MaxMSPIDLen, "._-") }

// ValidateCode checks a record type code or department code: 1..MaxCodeLen
// characters of [A-Za-z0-9._:-], starting with a letter or digit.
func ValidateCode(field, s string) error { return checkToken(field, s, MaxCodeLen, "._:-") }

// ValidateText checks free text: valid UTF-8, no control characters (no
// newlines, no U+2028/U+2029 either), at most maxLen bytes, non-empty when
// required.
func ValidateText(field, s string, maxLen int, required bool) error {
	if s == "" {
		if required {
			return Errorf(CodeInvalid, "%s is required", field)
		}
		return nil
	}
	if len(s) > maxLen {
		return Errorf(CodeInvalid, "%s longer than %d bytes", field, maxLen)
	}
	if !utf8.ValidString(s) {
		return Errorf(CodeInvalid, "%s is not valid UTF-8", field)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
			return Errorf(CodeInvalid, "%s contains a control or invalid character", field)
		}
	}
	return nil
}

const mediaTypeChars = "!#$&^_.+-"

// ValidateMediaType checks "type/subtype" (RFC 6838 restricted names, no
// parameters), at most MaxMediaTypeLen bytes.
func ValidateMediaType(field, s string) error {
	if s == "" {
		return Errorf(CodeInvalid, "%s is required", field)
	}
	if len(s) > MaxMediaTypeLen {
		return Errorf(CodeInvalid, "%s longer than %d bytes", field, MaxMediaTypeLen)
	}
	slash := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			if slash >= 0 {
				return Errorf(CodeInvalid, "%s must be type/subtype", field)
			}
			slash = i
		}
	}
	if slash <= 0 || slash == len(s)-1 {
		return Errorf(CodeInvalid, "%s must be type/subtype", field)
	}
	if checkToken(field, s[:slash], MaxMediaTypeLen, mediaTypeChars) != nil ||
		checkToken(field, s[slash+1:], MaxMediaTypeLen, mediaTypeChars) != nil {
		return Errorf(CodeInvalid, "%s must be type/subtype of RFC 6838 characters", field)
	}
	return nil
}

// ParseTime parses an RFC 3339 time (any offset, optional fractional
// seconds) whose UTC year is within 1..9999.
func ParseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, Errorf(CodeInvalid, "%s is required", field)
	}
	if len(s) > 64 {
		return time.Time{}, Errorf(CodeInvalid, "%s is not an RFC 3339 time", field)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, Errorf(CodeInvalid, "%s is not an RFC 3339 time", field)
	}
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, Errorf(CodeInvalid, "%s is out of range", field)
	}
	return t, nil
}

// FormatTime is the one time format the ledger writes: UTC, RFC 3339 with
// nanoseconds (trailing zeros trimmed).
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// NormalizeTime parses s (see ParseTime) and returns FormatTime of it.
func NormalizeTime(field, s string) (string, error) {
	t, err := ParseTime(field, s)
	if err != nil {
		return "", err
	}
	return FormatTime(t), nil
}

// ParsePageSize parses a pageSize argument: "" or "0" mean DefaultPageSize,
// otherwise a decimal integer in 1..MaxPageSize.
func ParsePageSize(s string) (int32, error) {
	if s == "" || s == "0" {
		return DefaultPageSize, nil
	}
	if len(s) > 6 {
		return 0, Errorf(CodeInvalid, "pageSize must be an integer in 1..%d", MaxPageSize)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxPageSize || strconv.Itoa(n) != s {
		return 0, Errorf(CodeInvalid, "pageSize must be an integer in 1..%d", MaxPageSize)
	}
	return int32(n), nil
}

// Normalize validates r and rewrites ValidUntil into FormatTime form. It
// returns a CodeInvalid *Error naming the first bad field.
func (r *AppendRequest) Normalize() error {
	if err := ValidateID("recordId", r.RecordID); err != nil {
		return err
	}
	if err := ValidateSubjectID("subjectId", r.SubjectID); err != nil {
		return err
	}
	if err := ValidateCode("type", r.Type); err != nil {
		return err
	}
	if _, err := ParseCID(r.CID); err != nil {
		return err
	}
	if r.Size < 0 || r.Size > MaxSize {
		return Errorf(CodeInvalid, "size must be within 0..%d", MaxSize)
	}
	if err := ValidateMediaType("mediaType", r.MediaType); err != nil {
		return err
	}
	if r.NoteCID != "" {
		if _, err := ParseCID(r.NoteCID); err != nil {
			return Errorf(CodeInvalid, "noteCid: %s", AsError(err).Message)
		}
	}
	if r.ValidUntil != "" {
		v, err := NormalizeTime("validUntil", r.ValidUntil)
		if err != nil {
			return err
		}
		r.ValidUntil = v
	}
	return nil
}

// SameRequest reports whether rec was appended from a request equal to req
// (after normalisation) by issuer: the idempotency test of AppendRecord.
func (rec *Record) SameRequest(req *AppendRequest, issuer string) bool {
	return rec.RecordID == req.RecordID && rec.SubjectID == req.SubjectID &&
		rec.Type == req.Type && rec.CID == req.CID && rec.Size == req.Size &&
		rec.MediaType == req.MediaType && rec.NoteCID == req.NoteCID &&
		rec.ValidUntil == req.ValidUntil && rec.Issuer == issuer
}
