// Package subject derives pseudonymous subject IDs from national ID numbers,
// so that no ID number or credit code ever reaches the ledger.
//
// A subject ID is
//
//	<prefix> base32lower_nopad( HMAC-SHA-256(secret, kind || 0x00 || normalised ID)[:20] )
//
// with prefix "p-" for a person and "e-" for an enterprise: 34 characters in
// all, 160 bits of the MAC (32 base32 characters, no padding needed). Every
// gateway of the platform shares the secret, so the same ID number yields the
// same subject ID everywhere; without the secret the mapping can be neither
// computed nor inverted (a dictionary over all ID numbers is useless).
//
// Normalisation: surrounding white space is removed and ASCII letters are
// upper-cased; anything but ASCII letters and digits is then invalid.
//
// Validation:
//   - person: an 18-character resident identity number (GB 11643-1999): 17
//     digits (the first not 0; characters 7-14 a real calendar date between
//     1800-01-01 and 2199-12-31) and an ISO 7064 MOD 11-2 check character
//     (0-9 or X).
//   - enterprise: an 18-character unified social credit code (GB
//     32100-2015) over the alphabet 0-9 A-H J-N P-R T U W-Y, characters 3-8
//     digits (administrative division), and its MOD 31 check character.
package subject

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"github.com/edossier-city/edossier/gateway"
	"strings"

	"github.com/edossier-city/edossier/chaincode/wire"
)

// Kinds of subject.
const (
	KindPerson     = "person"
	KindEnterprise = "enterprise"
)

// Errors. Test with errors.Is.
var (
	ErrInvalidKind     = errors.New("subject: kind must be person or enterprise")
	ErrInvalidIDNumber = errors.New("subject: invalid ID number")
)

const (
	// MinSecretLen is the minimum length of the derivation secret.
	MinSecretLen = 32
	// macBytes is how much of the HMAC is kept (160 bits).
	macBytes = 20
	// encodedLen is the length of the base32 part.
	encodedLen = macBytes * 8 / 5
	// IDLen is the length of a subject ID, prefix included.
	IDLen = 2 + encodedLen
)

// b32Alphabet is the RFC 4648 base32 alphabet, lower case.
const b32Alphabet = "abcdefghijklmnopqrstuvwxyz234567"

// encodeBase32 encodes b (a multiple of 5 bytes) as unpadded lower-case
// RFC 4648 base32.
func encodeBase32(b []byte) string {
	out := make([]byte, 0, len(b)/5*8)
	for ; len(b) >= 5; b = b[5:] {
		v := uint64(b[0])<<32 | uint64(b[1])<<24 | uint64(b[2])<<16 | uint64(b[3])<<8 | uint64(b[4])
		for shift := 35; shift >= 0; shift -= 5 {
			out = append(out, b32Alphabet[(v>>uint(shift))&31])
		}
	}
	return string(out)
}

// Deriver derives subject IDs. It is safe for concurrent use.
type Deriver struct {
	secret []byte
}

// NewDeriver returns a Deriver keyed with secret (at least MinSecretLen
// bytes; it is copied).
func NewDeriver(secret []byte) (*Deriver, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("subject: secret must be at least %d bytes, got %d", MinSecretLen, len(secret))
	}
	return &Deriver{secret: append([]byte(nil), secret...)}, nil
}

// SubjectID returns the subject ID of an ID number of the given kind
// ("person" or "enterprise"). It fails with a *gateway.Error of code invalid wrapping
// ErrInvalidKind or ErrInvalidIDNumber.
func (d *Deriver) SubjectID(kind, idNumber string) (string, error) {
	norm, err := Normalize(kind, idNumber)
	if err != nil {
		return "", gateway.Wrap(gateway.CodeInvalid, err, "%s", err.Error())
	}
	prefix := "p-"
	if kind == KindEnterprise {
		prefix = "e-"
	}
	m := hmac.New(sha256.New, d.secret)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(norm))
	return prefix + encodeBase32(m.Sum(nil)[:macBytes]), nil
}

// Normalize validates idNumber for kind and returns its normalised form.
func Normalize(kind, idNumber string) (string, error) {
	if kind != KindPerson && kind != KindEnterprise {
		return "", ErrInvalidKind
	}
	s := strings.TrimSpace(idNumber)
	if len(s) != 18 {
		return "", fmt.Errorf("%w: must be 18 characters", ErrInvalidIDNumber)
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		default:
			return "", fmt.Errorf("%w: invalid character", ErrInvalidIDNumber)
		}
	}
	s = string(b)
	var err error
	if kind == KindPerson {
		err = checkResidentID(s)
	} else {
		err = checkCreditCode(s)
	}
	if err != nil {
		return "", err
	}
	return s, nil
}

// ResidentCheckChar returns the ISO 7064 MOD 11-2 check character of the
// first 17 digits of a resident ID number.
func ResidentCheckChar(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, fmt.Errorf("%w: need 17 digits", ErrInvalidIDNumber)
	}
	// weights[i] = 2^(17-i) mod 11 (ISO 7064 MOD 11-2).
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 17 {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: digits expected", ErrInvalidIDNumber)
		}
		sum += int(c-'0') * weights[i]
	}
	v := (12 - sum%11) % 11
	if v == 10 {
		return 'X', nil
	}
	return byte('0' + v), nil
}

func checkResidentID(s string) error {
	want, err := ResidentCheckChar(s[:17])
	if err != nil {
		return err
	}
	if s[0] == '0' {
		return fmt.Errorf("%w: invalid region code", ErrInvalidIDNumber)
	}
	if !validDate(s[6:14]) {
		return fmt.Errorf("%w: invalid date of birth", ErrInvalidIDNumber)
	}
	if s[17] != want {
		return fmt.Errorf("%w: check digit mismatch", ErrInvalidIDNumber)
	}
	return nil
}

// validDate checks an 8-digit YYYYMMDD date between 1800 and 2199.
func validDate(s string) bool {
	n := func(t string) int {
		v := 0
		for i := 0; i < len(t); i++ {
			v = v*10 + int(t[i]-'0')
		}
		return v
	}
	y, m, d := n(s[:4]), n(s[4:6]), n(s[6:])
	if y < 1800 || y > 2199 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && (y%4 == 0 && y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

// creditAlphabet lists the 31 characters of GB 32100-2015 by value (no I, O,
// S, V, Z).
const creditAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// CreditCheckChar returns the GB 32100-2015 check character of the first 17
// characters of a unified social credit code (upper case).
func CreditCheckChar(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, fmt.Errorf("%w: need 17 characters", ErrInvalidIDNumber)
	}
	// weights[i] = 3^i mod 31.
	weights := [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	sum := 0
	for i := range 17 {
		v := strings.IndexByte(creditAlphabet, first17[i])
		if v < 0 {
			return 0, fmt.Errorf("%w: invalid character %q", ErrInvalidIDNumber, first17[i])
		}
		sum += v * weights[i]
	}
	return creditAlphabet[(31-sum%31)%31], nil
}

func checkCreditCode(s string) error {
	want, err := CreditCheckChar(s[:17])
	if err != nil {
		return err
	}
	for i := 2; i < 8; i++ {
		if s[i] < '0' || s[i] > '9' {
			return fmt.Errorf("%w: invalid administrative division code", ErrInvalidIDNumber)
		}
	}
	if s[17] != want {
		return fmt.Errorf("%w: check character mismatch", ErrInvalidIDNumber)
	}
	return nil
}

// ValidSubjectID reports whether s has the syntax of a subject ID: "p-" or
// "e-" followed by 32 characters of [a-z2-7]. It says nothing about whether
// the subject exists. The rule is wire.ValidateSubjectID's, which the
// chaincode enforces.
func ValidSubjectID(s string) bool {
	return wire.ValidateSubjectID("subjectId", s) == nil
}

// KindOf returns the kind encoded in a syntactically valid subject ID.
func KindOf(subjectID string) (string, bool) {
	if !ValidSubjectID(subjectID) {
		return "", false
	}
	if subjectID[0] == 'p' {
		return KindPerson, true
	}
	return KindEnterprise, true
}
