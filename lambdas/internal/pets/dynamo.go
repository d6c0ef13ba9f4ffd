package pets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/secure-api-go/apigw-jwt/internal/petdata"
)

// DynamoAPI is the part of the DynamoDB client the store uses.
type DynamoAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// DynamoStore keeps pets in one table (layout in package petdata). It uses
// only single-item conditional writes, which DynamoDB and dynalite both have.
type DynamoStore struct {
	DB    DynamoAPI
	Table string
	// IdempotencyTTL is how long a create can be replayed. Default: 24 h.
	IdempotencyTTL time.Duration
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

const maxIDAttempts = 5

func (s *DynamoStore) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Create takes the next id from the atomic counter, writes the pet only if
// that id is free, then claims the idempotency key; if another request won
// the key meanwhile, it removes its own pet and returns the winner's.
func (s *DynamoStore) Create(ctx context.Context, in NewPet, createdBy string, idem *Idempotency) (Pet, bool, error) {
	var idemPK string
	if idem != nil {
		idemPK = petdata.IdempotencyPK(idemHash(createdBy, idem.Key))
		if p, ok, err := s.replay(ctx, idemPK, idem); ok || err != nil {
			return p, ok, err
		}
	}
	p := Pet{Type: in.Type, Price: in.Price, CreatedBy: createdBy}
	for attempt := 0; ; attempt++ {
		id, err := s.nextID(ctx)
		if err != nil {
			return Pet{}, false, err
		}
		p.ID = id
		_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: &s.Table,
			Item: map[string]types.AttributeValue{
				petdata.PK:        str(petdata.PetPK(id)),
				petdata.ID:        num(strconv.FormatInt(id, 10)),
				petdata.Type:      str(in.Type),
				petdata.Price:     num(in.PriceText),
				petdata.Kind:      str(petdata.KindPet),
				petdata.CreatedBy: str(createdBy),
				petdata.CreatedAt: str(s.now().UTC().Format(time.RFC3339)),
			},
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": petdata.PK},
		})
		if err == nil {
			break
		}
		if !isConditionFailed(err) || attempt+1 >= maxIDAttempts {
			return Pet{}, false, wrap("put pet", err)
		}
		// The id is taken (the counter was behind): take the next one.
	}
	if idem == nil {
		return p, false, nil
	}
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.Table,
		Item: map[string]types.AttributeValue{
			petdata.PK:        str(idemPK),
			"petId":           num(strconv.FormatInt(p.ID, 10)),
			"bodyHash":        str(idem.BodyHash),
			petdata.ExpiresAt: num(strconv.FormatInt(s.now().Add(s.ttl()).Unix(), 10)),
		},
		ConditionExpression:      aws.String("attribute_not_exists(#pk) OR #exp < :now"),
		ExpressionAttributeNames: map[string]string{"#pk": petdata.PK, "#exp": petdata.ExpiresAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": num(strconv.FormatInt(s.now().Unix(), 10)),
		},
	})
	if err == nil {
		return p, false, nil
	}
	// Either way our pet must go: another request owns the key, or we could not record it.
	if _, derr := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.Table, Key: key(petdata.PetPK(p.ID))}); derr != nil {
		return Pet{}, false, wrap("undo pet after idempotency failure", errors.Join(err, derr))
	}
	if !isConditionFailed(err) {
		return Pet{}, false, wrap("put idempotency record", err)
	}
	if rp, ok, rerr := s.replay(ctx, idemPK, idem); ok || rerr != nil {
		return rp, ok, rerr
	}
	return Pet{}, false, ErrInProgress
}

func (s *DynamoStore) ttl() time.Duration {
	if s.IdempotencyTTL > 0 {
		return s.IdempotencyTTL
	}
	return 24 * time.Hour
}

// replay returns the pet of an earlier create with the same key, if any.
func (s *DynamoStore) replay(ctx context.Context, idemPK string, idem *Idempotency) (Pet, bool, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: key(idemPK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Pet{}, false, wrap("get idempotency record", err)
	}
	if out.Item == nil {
		return Pet{}, false, nil
	}
	if exp, _ := strconv.ParseInt(numOf(out.Item[petdata.ExpiresAt]), 10, 64); exp < s.now().Unix() {
		return Pet{}, false, nil
	}
	if strOf(out.Item["bodyHash"]) != idem.BodyHash {
		return Pet{}, false, ErrKeyReused
	}
	id, _ := strconv.ParseInt(numOf(out.Item["petId"]), 10, 64)
	p, err := s.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Pet{}, false, ErrInProgress
	}
	return p, err == nil, err
}

func (s *DynamoStore) nextID(ctx context.Context) (int64, error) {
	out, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.Table,
		Key:                       key(petdata.CounterPK),
		UpdateExpression:          aws.String("ADD #seq :one"),
		ExpressionAttributeNames:  map[string]string{"#seq": petdata.Seq},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num("1")},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, wrap("next id", err)
	}
	id, err := strconv.ParseInt(numOf(out.Attributes[petdata.Seq]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("next id: counter is not an integer: %w", err)
	}
	return id, nil
}

// Get reads one pet with a strongly consistent read: a pet is read back
// right after its create (the idempotent replay, a client following
// Location), and an eventually consistent read may miss a write that
// succeeded. Index queries (List) cannot be consistent, so nothing reads its
// own write through them.
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html
func (s *DynamoStore) Get(ctx context.Context, id int64) (Pet, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: key(petdata.PetPK(id)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Pet{}, wrap("get pet", err)
	}
	if out.Item == nil {
		return Pet{}, ErrNotFound
	}
	return petOf(out.Item)
}

// List queries ByKind (all pets) or ByType in id order, a page at a time.
func (s *DynamoStore) List(ctx context.Context, q ListQuery) ([]Pet, int64, error) {
	in := &dynamodb.QueryInput{
		TableName:        &s.Table,
		Limit:            aws.Int32(int32(q.Limit)),
		ScanIndexForward: aws.Bool(true),
	}
	partAttr, partVal := petdata.Kind, petdata.KindPet
	in.IndexName = aws.String(petdata.ByKind)
	if q.Type != "" {
		partAttr, partVal = petdata.Type, q.Type
		in.IndexName = aws.String(petdata.ByType)
	}
	in.KeyConditionExpression = aws.String("#p = :p")
	in.ExpressionAttributeNames = map[string]string{"#p": partAttr}
	in.ExpressionAttributeValues = map[string]types.AttributeValue{":p": str(partVal)}
	if q.After > 0 {
		in.KeyConditionExpression = aws.String("#p = :p AND #id > :after")
		in.ExpressionAttributeNames["#id"] = petdata.ID
		in.ExpressionAttributeValues[":after"] = num(strconv.FormatInt(q.After, 10))
	}
	out, err := s.DB.Query(ctx, in)
	if err != nil {
		return nil, 0, wrap("list pets", err)
	}
	pets := make([]Pet, 0, len(out.Items))
	for _, item := range out.Items {
		p, err := petOf(item)
		if err != nil {
			return nil, 0, err
		}
		pets = append(pets, p)
	}
	var next int64
	if len(out.LastEvaluatedKey) > 0 && len(pets) > 0 {
		next = pets[len(pets)-1].ID
	}
	return pets, next, nil
}

func petOf(item map[string]types.AttributeValue) (Pet, error) {
	id, err1 := strconv.ParseInt(numOf(item[petdata.ID]), 10, 64)
	price, err2 := strconv.ParseFloat(numOf(item[petdata.Price]), 64)
	if err := errors.Join(err1, err2); err != nil {
		return Pet{}, fmt.Errorf("stored pet %v is malformed: %w", item[petdata.PK], err)
	}
	return Pet{ID: id, Type: strOf(item[petdata.Type]), Price: price, CreatedBy: strOf(item[petdata.CreatedBy])}, nil
}

func idemHash(createdBy, key string) string {
	sum := sha256.Sum256([]byte(createdBy + "\x00" + key))
	return hex.EncodeToString(sum[:])
}

func key(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{petdata.PK: str(pk)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(n string) types.AttributeValue { return &types.AttributeValueMemberN{Value: n} }

func strOf(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

func numOf(v types.AttributeValue) string {
	if n, ok := v.(*types.AttributeValueMemberN); ok {
		return n.Value
	}
	return ""
}

func isConditionFailed(err error) bool {
	var cf *types.ConditionalCheckFailedException
	return errors.As(err, &cf)
}

// wrap marks capacity errors as ErrThrottled so the handler answers 503.
func wrap(op string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "LimitExceededException":
			return fmt.Errorf("%w: %s: %v", ErrThrottled, op, err)
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}
