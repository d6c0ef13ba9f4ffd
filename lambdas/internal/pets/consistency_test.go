package pets

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/secure-api-go/apigw-jwt/internal/petdata"
)

// laggingDB is a table whose replicas never catch up: a consistent GetItem
// sees every write, an eventually consistent GetItem and every index Query see
// the table as it was before the test wrote anything. DynamoDB documents both:
// reads are eventually consistent unless ConsistentRead is set, and global
// secondary index reads always are.
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html
// (dynalite is strongly consistent, so an end-to-end test cannot show this.)
type laggingDB struct {
	primary, replica map[string]map[string]types.AttributeValue
}

func newLaggingDB() *laggingDB {
	db := &laggingDB{primary: map[string]map[string]types.AttributeValue{}}
	for _, p := range petdata.Seed {
		db.primary[petdata.PetPK(p.ID)] = map[string]types.AttributeValue{
			petdata.PK: str(petdata.PetPK(p.ID)), petdata.ID: num(strconv.FormatInt(p.ID, 10)),
			petdata.Type: str(p.Type), petdata.Price: num(p.Price), petdata.Kind: str(petdata.KindPet), petdata.CreatedBy: str(petdata.SeedCreator),
		}
	}
	db.primary[petdata.CounterPK] = map[string]types.AttributeValue{petdata.PK: str(petdata.CounterPK), petdata.Seq: num(strconv.Itoa(len(petdata.Seed)))}
	db.replica = maps.Clone(db.primary)
	return db
}

func (db *laggingDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	src := db.replica
	if in.ConsistentRead != nil && *in.ConsistentRead {
		src = db.primary
	}
	return &dynamodb.GetItemOutput{Item: src[strOf(in.Key[petdata.PK])]}, nil
}

func (db *laggingDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	pk := strOf(in.Item[petdata.PK])
	if old, ok := db.primary[pk]; ok && in.ConditionExpression != nil && strings.HasPrefix(*in.ConditionExpression, "attribute_not_exists") {
		// "... OR #exp < :now" lets an expired idempotency record be replaced.
		exp, _ := strconv.ParseInt(numOf(old[petdata.ExpiresAt]), 10, 64)
		now, _ := strconv.ParseInt(numOf(in.ExpressionAttributeValues[":now"]), 10, 64)
		if !strings.Contains(*in.ConditionExpression, "<") || exp >= now {
			return nil, &types.ConditionalCheckFailedException{}
		}
	}
	db.primary[pk] = in.Item
	return &dynamodb.PutItemOutput{}, nil
}

func (db *laggingDB) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	pk := strOf(in.Key[petdata.PK])
	n, _ := strconv.ParseInt(numOf(db.primary[pk][petdata.Seq]), 10, 64)
	item := map[string]types.AttributeValue{petdata.PK: str(pk), petdata.Seq: num(strconv.FormatInt(n+1, 10))}
	db.primary[pk] = item
	return &dynamodb.UpdateItemOutput{Attributes: item}, nil
}

func (db *laggingDB) DeleteItem(_ context.Context, in *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	delete(db.primary, strOf(in.Key[petdata.PK]))
	return &dynamodb.DeleteItemOutput{}, nil
}

func (db *laggingDB) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if in.ConsistentRead != nil && *in.ConsistentRead {
		return nil, &types.ResourceNotFoundException{Message: strPtr("Consistent reads are not supported on global secondary indexes")}
	}
	attr, val := in.ExpressionAttributeNames["#p"], strOf(in.ExpressionAttributeValues[":p"])
	after, _ := strconv.ParseInt(numOf(in.ExpressionAttributeValues[":after"]), 10, 64)
	var items []map[string]types.AttributeValue
	for _, item := range db.replica {
		id, _ := strconv.ParseInt(numOf(item[petdata.ID]), 10, 64)
		if strOf(item[attr]) == val && id > after {
			items = append(items, item)
		}
	}
	slices.SortFunc(items, func(a, b map[string]types.AttributeValue) int {
		return strings.Compare(numOf(a[petdata.ID]), numOf(b[petdata.ID]))
	})
	return &dynamodb.QueryOutput{Items: items}, nil
}

func strPtr(s string) *string { return &s }

// TestHandlersReadTheirOwnWrites: on a table whose replicas and indexes lag,
// a create answers the pet it made, a retry with the same Idempotency-Key
// replays it, and the pet is readable at its Location at once. Only the list
// (an index) may be stale, and it still answers.
func TestHandlersReadTheirOwnWrites(t *testing.T) {
	db := newLaggingDB()
	h, logs := newHandler(&DynamoStore{DB: db, Table: "pets"})
	ctx := context.Background()
	post := loadEvent(t, "post-pets.json")
	post.Headers["Idempotency-Key"] = "order-42"

	first, _ := h.Handle(ctx, post)
	if first.StatusCode != 201 {
		t.Fatalf("create: %d %s (log %s)", first.StatusCode, first.Body, logs)
	}
	var made Pet
	json.Unmarshal([]byte(first.Body), &made)
	if made.ID != int64(len(petdata.Seed)+1) || made.Type != "dog" {
		t.Fatalf("created %+v", made)
	}

	again, _ := h.Handle(ctx, post)
	if again.StatusCode != 201 || again.Headers["Idempotent-Replayed"] != "true" || again.Body != first.Body {
		t.Fatalf("replay: %d %v %s, want the first answer replayed", again.StatusCode, again.Headers, again.Body)
	}

	get := loadEvent(t, "get-pet.json")
	get.PathParameters = map[string]string{"petId": strconv.FormatInt(made.ID, 10)}
	read, _ := h.Handle(ctx, get)
	if read.StatusCode != 200 || !strings.Contains(read.Body, `"id":`+strconv.FormatInt(made.ID, 10)) {
		t.Fatalf("read after create: %d %s", read.StatusCode, read.Body)
	}

	list, _ := h.Handle(ctx, loadEvent(t, "get-pets.json"))
	if list.StatusCode != 200 {
		t.Fatalf("list on a stale index: %d %s", list.StatusCode, list.Body)
	}
	var pets []Pet
	json.Unmarshal([]byte(list.Body), &pets)
	if len(pets) != len(petdata.Seed) {
		t.Fatalf("the fake index is not stale (%d pets): the test proves nothing", len(pets))
	}
	if n := len(db.primary); n != len(petdata.Seed)+3 { // seed, counter, the pet, its idempotency record
		t.Fatalf("%d items, want one pet and one idempotency record more than the seed", n)
	}
}
