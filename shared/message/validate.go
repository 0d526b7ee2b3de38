package message

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// ErrRefused marks a message SQS refuses (or would refuse) for its own
// content: a character SQS does not allow, a size past MaxRequestBytes, too
// many attributes, a bad attribute name, type or value. Retrying cannot
// help; it is the message's fault, not a dependency's. Errors from Validate
// wrap it, and so do the queue adapter's per-message errors for such
// refusals.
var ErrRefused = errors.New("refused by SQS")

// Size is the message's size as SQS counts it against MaxRequestBytes: the
// body's bytes plus, for each attribute, the bytes of its name, its data
// type and its value. A Binary value counts as its base64 text, the form it
// travels in; that is exact for the local SQS server and errs on the safe
// side for AWS, which counts the raw bytes.
func (m Message) Size() int {
	n := len(m.Body)
	for name, a := range m.Attributes {
		n += len(name) + a.size()
	}
	return n
}

// size is what the attribute adds to its message's Size, besides its name.
func (a Attribute) size() int {
	if IsBinary(a.DataType) {
		return len(a.DataType) + base64.StdEncoding.EncodedLen(len(a.BinaryValue))
	}
	return len(a.DataType) + len(a.StringValue)
}

// CheckText reports the first character of s that SQS does not accept in a
// message body or a String attribute value: SQS allows only #x9, #xA, #xD,
// #x20 to #xD7FF, #xE000 to #xFFFD and #x10000 to #x10FFFF, in valid UTF-8.
func CheckText(s string) error {
	if plainText(s) {
		return nil
	}
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return fmt.Errorf("%w: invalid UTF-8 at byte %d", ErrRefused, i)
			}
		}
		if !allowedRune(r) {
			return fmt.Errorf("%w: character %U at byte %d is not allowed "+
				"(SQS accepts #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF)", ErrRefused, r, i)
		}
	}
	return nil
}

// plainText reports whether s is printable ASCII, tab, LF and CR only:
// most text is, and CheckText runs before every send (the proxy's hot
// path), so it tests eight bytes a step. A byte of 0x80 or more, or under
// 0x20, sets the high bit of its byte in x&hi or in (x-0x20*lo)&^x&hi
// ("determine if a word has a byte less than n", Bit Twiddling Hacks,
// exact when no byte has its high bit set); such a word is then read byte
// by byte, as the tail is.
func plainText(s string) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if x&hi == 0 && (x-0x20*lo)&^x&hi == 0 {
			continue
		}
		if !plainBytes(s[i : i+8]) {
			return false
		}
	}
	return plainBytes(s[i:])
}

// plainBytes is plainText a byte at a time.
func plainBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != 0x9 && c != 0xA && c != 0xD || c >= 0x80 {
			return false
		}
	}
	return true
}

func allowedRune(r rune) bool {
	switch {
	case r == 0x9 || r == 0xA || r == 0xD:
		return true
	case r >= 0x20 && r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

// numberRE is the decimal form SQS takes for Number attributes.
var numberRE = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// maxNameLen bounds an attribute name and a data type (SQS: 256 characters).
const maxNameLen = 256

// Validate reports, wrapping ErrRefused, the first thing about m that SQS
// would refuse in SendMessage or SendMessageBatch: an empty body, a
// character SQS does not allow, more than MaxAttributes attributes, a bad
// attribute name, data type or value, or a size past MaxRequestBytes.
func (m Message) Validate() error {
	_, err := m.CheckedSize()
	return err
}

// CheckedSize is Validate and Size in one pass over the attributes: m's
// size in bytes as SQS counts it, or Validate's error. A producer that
// checks every message before it sends it (sqsqueue.Publisher, once a
// post) walks the attribute map once instead of twice.
func (m Message) CheckedSize() (int, error) {
	if m.Body == "" {
		return 0, fmt.Errorf("%w: empty body", ErrRefused)
	}
	if err := CheckText(m.Body); err != nil {
		return 0, fmt.Errorf("body: %w", err)
	}
	if len(m.Attributes) > MaxAttributes {
		return 0, fmt.Errorf("%w: %d attributes, SQS allows %d", ErrRefused, len(m.Attributes), MaxAttributes)
	}
	n := len(m.Body)
	for name, a := range m.Attributes {
		if err := checkName(name); err != nil {
			return 0, fmt.Errorf("attribute %q: %w", name, err)
		}
		if err := a.Validate(); err != nil {
			return 0, fmt.Errorf("attribute %q: %w", name, err)
		}
		n += len(name) + a.size()
	}
	if n > MaxRequestBytes {
		return 0, fmt.Errorf("%w: %d bytes (body and attributes), SQS allows %d", ErrRefused, n, MaxRequestBytes)
	}
	return n, nil
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case, without the
// copy strings.ToLower makes.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// checkName applies SQS's rules for attribute names: 1 to 256 characters
// from A-Z, a-z, 0-9, '-', '_' and '.'; no leading or trailing '.', no '..',
// no "AWS." or "Amazon." prefix (any case).
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty name", ErrRefused)
	case len(name) > maxNameLen:
		return fmt.Errorf("%w: name longer than %d characters", ErrRefused, maxNameLen)
	case name[0] == '.' || name[len(name)-1] == '.' || strings.Contains(name, ".."):
		return fmt.Errorf("%w: a name cannot start or end with '.' or contain '..'", ErrRefused)
	case hasPrefixFold(name, "aws.") || hasPrefixFold(name, "amazon."):
		return fmt.Errorf("%w: names starting with AWS. or Amazon. are reserved", ErrRefused)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("%w: character %q not allowed in a name (A-Z, a-z, 0-9, '-', '_', '.')", ErrRefused, r)
		}
	}
	return nil
}

// Validate reports, wrapping ErrRefused, what SQS would refuse about the
// attribute: a data type other than String, Number or Binary (each with an
// optional ".suffix"), an empty value, a value of the wrong kind for its
// type, a Number that is not a number, or a character SQS does not allow.
func (a Attribute) Validate() error {
	base, suffix, _ := strings.Cut(a.DataType, ".")
	if len(a.DataType) > maxNameLen {
		return fmt.Errorf("%w: data type longer than %d characters", ErrRefused, maxNameLen)
	}
	if err := CheckText(suffix); err != nil {
		return fmt.Errorf("data type: %w", err)
	}
	switch base {
	case "String", "Number":
		if a.BinaryValue != nil {
			return fmt.Errorf("%w: a %s attribute carries a binary value", ErrRefused, a.DataType)
		}
		if a.StringValue == "" {
			return fmt.Errorf("%w: empty value (SQS refuses it)", ErrRefused)
		}
		if err := CheckText(a.StringValue); err != nil {
			return err
		}
		if base == "Number" {
			if !numberRE.MatchString(a.StringValue) {
				return fmt.Errorf("%w: %q is not a number", ErrRefused, a.StringValue)
			}
		}
	case "Binary":
		if a.StringValue != "" {
			return fmt.Errorf("%w: a %s attribute carries a text value", ErrRefused, a.DataType)
		}
		if len(a.BinaryValue) == 0 {
			return fmt.Errorf("%w: empty value (SQS refuses it)", ErrRefused)
		}
	default:
		return fmt.Errorf("%w: data type %q (want String, Number or Binary, optionally followed by .suffix)", ErrRefused, a.DataType)
	}
	return nil
}
