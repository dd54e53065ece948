package wire

import (
	"crypto/sha256"
	"mime"
)

// EmptyCID is the CID of zero bytes: a valid placeholder for the file (and the note)
// of an append request checked before the file is stored.
var EmptyCID = func() string {
	d := sha256.Sum256(nil)
	return CIDFromSHA256(d[:]).String()
}()

// DefaultMediaType is the media type of a file nobody named a type for.
const DefaultMediaType = "application/octet-stream"

// MediaTypeOf is the media type a record gets: the first non-empty candidate (the
// caller's metadata first, then the file part's header or the file name's extension),
// DefaultMediaType if none, reduced to type/subtype (parameters dropped) when it parses.
// The gateway, the CLI import and the REST client all choose it here.
func MediaTypeOf(candidates ...string) string {
	mt := DefaultMediaType
	for _, c := range candidates {
		if c != "" {
			mt = c
			break
		}
	}
	if parsed, _, err := mime.ParseMediaType(mt); err == nil {
		mt = parsed
	}
	return mt
}

// PlaceholderAppend builds and normalises the append request of a record whose file is
// not stored yet, so that its metadata can be checked first (locally with Normalize,
// or by the chaincode): CID (and NoteCID when withNote) are EmptyCID, Size 0, until the
// file is stored.
func PlaceholderAppend(recordID, subjectID, recordType, mediaType, validUntil string, withNote bool) (AppendRequest, error) {
	req := AppendRequest{RecordID: recordID, SubjectID: subjectID, Type: recordType,
		MediaType: mediaType, ValidUntil: validUntil, CID: EmptyCID}
	if withNote {
		req.NoteCID = EmptyCID
	}
	if err := req.Normalize(); err != nil {
		return req, err
	}
	return req, nil
}
