// Package pets is the PetStore backend: validation, the HTTP handling of
// REST proxy events and a DynamoDB store.
package pets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Pet is the public shape, as in API Gateway's PetStore example.
type Pet struct {
	ID        int64   `json:"id"`
	Type      string  `json:"type"`
	Price     float64 `json:"price"`
	CreatedBy string  `json:"createdBy,omitempty"`
}

// NewPet is a validated create request.
type NewPet struct {
	Type  string
	Price float64
	// PriceText is the price as sent, stored as DynamoDB's exact decimal.
	PriceText string
}

// Limits of the API.
const (
	MaxBodyBytes    = 16 << 10
	MaxPrice        = 100000
	DefaultPageSize = 25
	MaxPageSize     = 100
)

// Store errors.
var (
	ErrNotFound = errors.New("pet not found")
	// ErrThrottled: DynamoDB refused for capacity; the caller should retry.
	ErrThrottled = errors.New("throttled")
	// ErrKeyReused: an Idempotency-Key came back with another body.
	ErrKeyReused = errors.New("idempotency key reused with a different request")
	// ErrInProgress: the first request with this Idempotency-Key has not finished.
	ErrInProgress = errors.New("request with this idempotency key in progress")
)

// ValidationError is a 400 with a message for the caller.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

func invalid(format string, a ...any) error { return &ValidationError{fmt.Sprintf(format, a...)} }

var (
	typeRE  = regexp.MustCompile(`^[A-Za-z]{1,64}$`)
	priceRE = regexp.MustCompile(`^(0|[1-9][0-9]{0,5})(\.[0-9]{1,2})?$`)
)

// ParseNewPet validates a POST /pets body: exactly {"type", "price"}, keys
// spelled exactly and each once, nothing after the object; type
// 1..64 letters (stored lower case); price a JSON number from 0 to 100000
// with at most two decimals.
func ParseNewPet(body []byte) (NewPet, error) {
	if len(body) > MaxBodyBytes {
		return NewPet{}, invalid("body is %d bytes; the limit is %d", len(body), MaxBodyBytes)
	}
	if err := checkStrictJSON(body, "type", "price"); err != nil {
		return NewPet{}, err
	}
	var in struct {
		Type  *string         `json:"type"`
		Price json.RawMessage `json:"price"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return NewPet{}, invalid("body must be a JSON object with only \"type\" and \"price\": %s", jsonProblem(err))
	}
	if dec.More() {
		return NewPet{}, invalid("body must hold exactly one JSON object")
	}
	if in.Type == nil {
		return NewPet{}, invalid("type is required")
	}
	if !typeRE.MatchString(*in.Type) {
		return NewPet{}, invalid("type must be 1 to 64 letters, e.g. \"dog\"")
	}
	if len(in.Price) == 0 || string(in.Price) == "null" {
		return NewPet{}, invalid("price is required")
	}
	text := string(in.Price)
	if !priceRE.MatchString(text) {
		return NewPet{}, invalid("price must be a number from 0 to %d with at most two decimals, e.g. 249.99", MaxPrice)
	}
	price, err := strconv.ParseFloat(text, 64)
	if err != nil || price > MaxPrice {
		return NewPet{}, invalid("price must be a number from 0 to %d with at most two decimals, e.g. 249.99", MaxPrice)
	}
	return NewPet{Type: strings.ToLower(*in.Type), Price: price, PriceText: text}, nil
}

func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "invalid JSON"
	case errors.As(err, &typ):
		return fmt.Sprintf("%s has the wrong type", typ.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "invalid JSON"
}

// ListQuery selects a page of pets in id order.
type ListQuery struct {
	Type  string // "" for all types
	Limit int
	After int64 // ids greater than this; 0 for the first page
}

// Idempotency identifies a create that may be retried.
type Idempotency struct {
	Key      string
	BodyHash string
}

// Store is what the handler needs of the table.
type Store interface {
	// Create stores a new pet with the next id. With idem set, a repeat of the
	// same key and body returns the first pet and replayed=true.
	Create(ctx context.Context, in NewPet, createdBy string, idem *Idempotency) (p Pet, replayed bool, err error)
	Get(ctx context.Context, id int64) (Pet, error)
	// List returns a page and the id to continue after, or 0 on the last page.
	List(ctx context.Context, q ListQuery) ([]Pet, int64, error)
}
