package pgstore

// For the external tests (package pgstore_test, which may import testenv).
var (
	EncodeCursor = encodeCursor
	DecodeCursor = decodeCursor
)
