package number

import (
	"errors"
	"fmt"
)

// Codes of an invalid-input Error: what a program can branch on, where the
// Message is what a person reads.
const (
	// CodeValue: a value is not an integer in the int64 range, in its
	// canonical decimal form.
	CodeValue = "invalid_value"
	// CodeID: an id is not a UUID in canonical lower-case form.
	CodeID = "invalid_id"
	// CodeTime: a time is outside [MinTime, MaxTime].
	CodeTime = "invalid_time"
	// CodeCursor: a list cursor is not one this service returned.
	CodeCursor = "invalid_cursor"
	// CodeRefused: the database refused a value (a class-22 SQLSTATE).
	CodeRefused = "refused_by_database"
)

// Error is input that can never succeed (as wtf's Error): Code says which
// kind, Message says what is wrong in words meant for the client, and Err,
// when set, is the underlying cause for the log. errors.Is(err, ErrInvalid)
// is true for every *Error.
type Error struct {
	Code    string
	Message string
	Err     error
}

// Invalidf returns an *Error with code and a formatted message.
func Invalidf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error reads "invalid: " and the message, as a wrapped ErrInvalid would.
func (e *Error) Error() string { return ErrInvalid.Error() + ": " + e.Message }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns the cause (nil when there is none).
func (e *Error) Unwrap() error { return e.Err }

// ErrorMessage returns the client's message of the first *Error in err's
// chain, and false when there is none.
func ErrorMessage(err error) (string, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Message, true
	}
	return "", false
}
