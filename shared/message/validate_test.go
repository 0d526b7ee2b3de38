package message_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/numbers-app/numbers/shared/message"
)

func TestValidateRefusesWhatSQSRefusesAndAcceptsWhatItAccepts(t *testing.T) {
	ok := func(body string) message.Message { return message.Message{Body: body} }
	with := func(name string, a message.Attribute) message.Message {
		return message.Message{Body: "b", Attributes: map[string]message.Attribute{name: a}}
	}
	many := message.Message{Body: "b", Attributes: map[string]message.Attribute{}}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"} {
		many.Attributes[k] = message.String("v")
	}
	atLimit := message.Message{Body: strings.Repeat("x", message.MaxRequestBytes-len("k")-len("String")-1),
		Attributes: map[string]message.Attribute{"k": message.String("v")}}
	overLimit := atLimit
	overLimit.Body += "x"
	tests := []struct {
		name string
		m    message.Message
		want string // "" accepts
	}{
		{"tab, newline and carriage return are allowed", ok("a\tb\nc\rd"), ""},
		{"a character outside the BMP is allowed (#x10000-#x10FFFF)", ok("smile \U0001F600"), ""},
		{"the last allowed BMP character", ok("\uFFFD"), ""},
		{"an empty body", ok(""), "empty body"},
		{"NUL", ok("a\x00b"), "U+0000"},
		{"a control character", ok("a\x1fb"), "U+001F"},
		{"U+FFFE", ok("a\uFFFEb"), "U+FFFE"},
		{"U+FFFF", ok("a\uFFFFb"), "U+FFFF"},
		{"invalid UTF-8", ok("a\xffb"), "invalid UTF-8"},
		{"exactly the size limit", atLimit, ""},
		{"one byte past the size limit", overLimit, "bytes (body and attributes)"},
		{"eleven attributes", many, "11 attributes"},
		{"a Number", with("n", message.Attribute{DataType: "Number", StringValue: "-1.5E+3"}), ""},
		{"a custom String type", with("j", message.Attribute{DataType: "String.json", StringValue: "{}"}), ""},
		{"a Binary", with("b", message.Attribute{DataType: "Binary.gz", BinaryValue: []byte{0}}), ""},
		{"a Number that is not one", with("n", message.Attribute{DataType: "Number", StringValue: "NaN"}), "is not a number"},
		{"an unknown type", with("n", message.Attribute{DataType: "Text", StringValue: "x"}), "data type"},
		{"an empty type", with("n", message.Attribute{StringValue: "x"}), "data type"},
		{"an empty value", with("n", message.String("")), "empty value"},
		{"an empty binary", with("n", message.Attribute{DataType: "Binary"}), "empty value"},
		{"a binary type with text", with("n", message.Attribute{DataType: "Binary", StringValue: "x"}), "text value"},
		{"a bad character in a value", with("n", message.String("a\x01")), "U+0001"},
		{"a reserved name", with("aws.x", message.String("v")), "reserved"},
		{"a reserved name in another case", with("Amazon.X", message.String("v")), "reserved"},
		{"a name shorter than a reserved prefix", with("aws", message.String("v")), ""},
		{"DEL is allowed (#x20-#xD7FF)", ok("a\x7fb"), ""},
		{"a name with a space", with("a b", message.String("v")), "not allowed in a name"},
		{"a name ending in a dot", with("a.", message.String("v")), "'.'"},
		{"a name with two dots", with("a..b", message.String("v")), "'..'"},
		{"a name too long", with(strings.Repeat("n", 257), message.String("v")), "longer than 256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.m.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
			if !errors.Is(err, message.ErrRefused) {
				t.Fatalf("%v does not wrap ErrRefused", err)
			}
		})
	}
}

func TestSizeCountsBodyAndEveryAttributeNameTypeAndValue(t *testing.T) {
	m := message.Message{Body: "body", Attributes: map[string]message.Attribute{
		"s": message.String("abc"),                                 // 1 + 6 + 3
		"b": {DataType: "Binary", BinaryValue: []byte{1, 2, 3, 4}}, // 1 + 6 + 8 (base64)
	}}
	if got := m.Size(); got != 4+10+15 {
		t.Fatalf("Size = %d, want %d", got, 4+10+15)
	}
}

// FuzzCheckTextIsSQSsCharacterRule holds CheckText (an ASCII fast path
// before the rune loop) to SQS's rule, applied rune by rune: #x9 | #xA |
// #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF, in valid UTF-8.
func FuzzCheckTextIsSQSsCharacterRule(f *testing.F) {
	for _, s := range []string{"", "plain", "a\tb\nc\rd", "\x00", "\x1f", "\x7f", "\xff", "\uFFFE", "\U0001F600", "é",
		// eight bytes a step: a bad byte at each place of a word, and in the tail
		"abcdefg\x00", "\x1fbcdefgh", "abc\x7fdefgh", "abcdefgh\x01", "abcdefghi\x80", "ab\tcd\nef\rgh ij", "0123456789abcdef\x1f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := utf8.ValidString(s)
		for _, r := range s {
			if !(r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
				want = false
			}
		}
		if got := message.CheckText(s) == nil; got != want {
			t.Fatalf("CheckText(%q) accepts: %v, SQS's rule: %v", s, got, want)
		}
	})
}
