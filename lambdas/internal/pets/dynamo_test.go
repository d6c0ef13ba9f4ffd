package pets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/secure-api-go/apigw-jwt/internal/gobuild"
	"github.com/secure-api-go/apigw-jwt/internal/petdata"
	"github.com/secure-api-go/apigw-jwt/internal/procs"
)

var (
	dynaliteOnce sync.Once
	dynaliteURL  string
	dynaliteErr  error
	dynaliteProc *procs.Dynalite
)

// TestMain stops the dynalite it may have started, by PID, whatever the outcome.
func TestMain(m *testing.M) {
	code := m.Run()
	if dynaliteProc != nil {
		dynaliteProc.Stop(5 * time.Second)
	}
	os.Exit(code)
}

// newTable starts dynalite once per test binary and creates a fresh table
// per test, laid out as the stack's table (package petdata), seeded as the stack seeds it.
func newTable(t *testing.T) *DynamoStore {
	t.Helper()
	dynaliteOnce.Do(func() {
		root, err := gobuild.ModuleRoot(".")
		if err != nil {
			dynaliteErr = err
			return
		}
		dynaliteProc, dynaliteErr = procs.StartDynalite(context.Background(), root, 0, nil)
		if dynaliteErr == nil {
			dynaliteURL = dynaliteProc.Endpoint
		}
	})
	if dynaliteErr != nil {
		t.Fatalf("dynalite: %v", dynaliteErr)
	}
	db := dynamodb.New(dynamodb.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(dynaliteURL),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	name := fmt.Sprintf("pets-%s-%d", t.Name(), time.Now().UnixNano())
	if len(name) > 255 {
		name = name[:255]
	}
	ctx := context.Background()
	s := func(n string) *string { return aws.String(n) }
	gsi := func(name, part string) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{
			IndexName: s(name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: s(part), KeyType: types.KeyTypeHash},
				{AttributeName: s(petdata.ID), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}
	}
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   s(sanitize(name)),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: s(petdata.PK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: s(petdata.ID), AttributeType: types.ScalarAttributeTypeN},
			{AttributeName: s(petdata.Type), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: s(petdata.Kind), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema:              []types.KeySchemaElement{{AttributeName: s(petdata.PK), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{gsi(petdata.ByType, petdata.Type), gsi(petdata.ByKind, petdata.Kind)},
	})
	if err != nil {
		t.Fatalf("create table: %v", err)
	}
	waiter := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 20 * time.Millisecond
		o.MaxDelay = 100 * time.Millisecond
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: s(sanitize(name))}, 10*time.Second); err != nil {
		t.Fatalf("table not active: %v", err)
	}
	var writes []types.WriteRequest
	for _, item := range petdata.SeedItems() {
		av := map[string]types.AttributeValue{}
		for k, v := range item {
			if n, ok := v["N"]; ok {
				av[k] = &types.AttributeValueMemberN{Value: n}
			} else {
				av[k] = &types.AttributeValueMemberS{Value: v["S"]}
			}
		}
		writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{Item: av}})
	}
	if _, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{sanitize(name): writes}}); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return &DynamoStore{DB: db, Table: sanitize(name)}
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '-'
		}
	}
	return string(b)
}

func count(t *testing.T, s *DynamoStore) int {
	t.Helper()
	out, err := s.DB.(*dynamodb.Client).Scan(context.Background(), &dynamodb.ScanInput{TableName: &s.Table})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Items)
}

func TestDynamoCreateGetList(t *testing.T) {
	s := newTable(t)
	ctx := context.Background()
	in, _ := ParseNewPet([]byte(`{"type":"dog","price":10.5}`))
	p, replayed, err := s.Create(ctx, in, "sub-1", nil)
	if err != nil || replayed {
		t.Fatalf("create: %v %v", err, replayed)
	}
	if p.ID != 4 {
		t.Fatalf("first new pet has id %d, want 4 after the seed", p.ID)
	}
	got, err := s.Get(ctx, 4)
	if err != nil || got != (Pet{4, "dog", 10.5, "sub-1"}) {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := s.Get(ctx, 99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	seed, err := s.Get(ctx, 3)
	if err != nil || seed.Type != "fish" || seed.Price != 0.99 {
		t.Fatalf("seed pet 3: %+v %v", seed, err)
	}
	dogs, next, err := s.List(ctx, ListQuery{Type: "dog", Limit: 25})
	if err != nil || len(dogs) != 2 || dogs[0].ID != 1 || dogs[1].ID != 4 || next != 0 {
		t.Fatalf("dogs: %+v next %d err %v", dogs, next, err)
	}
	// Pages of 2 over 4 pets, in id order.
	var ids []int64
	var after int64
	for page := 0; page < 5; page++ {
		pets, n, err := s.List(ctx, ListQuery{Limit: 2, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pets {
			ids = append(ids, p.ID)
		}
		if n == 0 {
			break
		}
		after = n
	}
	if fmt.Sprint(ids) != "[1 2 3 4]" {
		t.Fatalf("paged ids %v", ids)
	}
}

func TestDynamoConcurrentCreatesGetDistinctIDs(t *testing.T) {
	s := newTable(t)
	in, _ := ParseNewPet([]byte(`{"type":"cat","price":1}`))
	var wg sync.WaitGroup
	ids := make([]int64, 50)
	errs := make([]error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, _, err := s.Create(context.Background(), in, "sub-"+strconv.Itoa(i), nil)
			ids[i], errs[i] = p.ID, err
		}()
	}
	wg.Wait()
	seen := map[int64]bool{}
	for i, id := range ids {
		if errs[i] != nil {
			t.Fatalf("create %d: %v", i, errs[i])
		}
		if seen[id] {
			t.Fatalf("id %d given twice", id)
		}
		seen[id] = true
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	if ids[0] != 4 || ids[49] != 53 {
		t.Fatalf("ids run %d..%d, want 4..53", ids[0], ids[49])
	}
	cats, _, _ := s.List(context.Background(), ListQuery{Type: "cat", Limit: 100})
	if len(cats) != 51 {
		t.Fatalf("%d cats listed, want 51", len(cats))
	}
}

func TestDynamoIdempotentRetry(t *testing.T) {
	s := newTable(t)
	ctx := context.Background()
	in, _ := ParseNewPet([]byte(`{"type":"dog","price":5}`))
	idem := &Idempotency{Key: "k-1", BodyHash: "h1"}
	first, replayed, err := s.Create(ctx, in, "sub-1", idem)
	if err != nil || replayed {
		t.Fatal(err, replayed)
	}
	before := count(t, s)
	// Retries, some concurrent, all give the first pet.
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, replayed, err := s.Create(ctx, in, "sub-1", idem)
			if err != nil || !replayed || p.ID != first.ID {
				t.Errorf("retry: %+v replayed=%v err=%v", p, replayed, err)
			}
		}()
	}
	wg.Wait()
	if n := count(t, s); n != before {
		t.Fatalf("retries changed the table: %d items, was %d", n, before)
	}
	if _, _, err := s.Create(ctx, in, "sub-1", &Idempotency{Key: "k-1", BodyHash: "other"}); !errors.Is(err, ErrKeyReused) {
		t.Fatalf("same key, other body: %v", err)
	}
	// The same key from another caller is another request.
	p, replayed, err := s.Create(ctx, in, "sub-2", idem)
	if err != nil || replayed || p.ID == first.ID {
		t.Fatalf("other caller: %+v %v %v", p, replayed, err)
	}
}

func TestDynamoConcurrentSameKeyMakesOnePet(t *testing.T) {
	s := newTable(t)
	in, _ := ParseNewPet([]byte(`{"type":"bird","price":3}`))
	idem := &Idempotency{Key: "race", BodyHash: "h"}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.Create(context.Background(), in, "sub-1", idem)
			if err != nil && !errors.Is(err, ErrInProgress) {
				t.Errorf("create: %v", err)
			}
		}()
	}
	wg.Wait()
	birds, _, _ := s.List(context.Background(), ListQuery{Type: "bird", Limit: 100})
	if len(birds) != 1 {
		t.Fatalf("%d birds after 10 creates with one key, want 1", len(birds))
	}
}

func TestDynamoBadInputWritesNothing(t *testing.T) {
	s := newTable(t)
	h, _ := newHandler(s)
	before := count(t, s)
	for _, body := range []string{`{"type":"dog"}`, `{"type":"dog","price":-1}`, `{"type":"dog","price":1,"x":1}`, `nope`} {
		ev := loadEvent(t, "post-pets.json")
		ev.Body = body
		if r, _ := h.Handle(context.Background(), ev); r.StatusCode != 400 {
			t.Fatalf("%s: %d", body, r.StatusCode)
		}
	}
	if n := count(t, s); n != before {
		t.Fatalf("bad input changed the table: %d items, was %d", n, before)
	}
}

func TestDynamoStrictBodiesWriteNothing(t *testing.T) {
	s := newTable(t)
	h, _ := newHandler(s)
	before := count(t, s)
	for _, tt := range strictBodyCases {
		t.Run(tt.name, func(t *testing.T) {
			r, err := h.Handle(context.Background(), strictEvent(t, tt.contentType, tt.body))
			if err != nil || r.StatusCode != tt.wantStatus {
				t.Fatalf("status %d (err %v), want %d: %s", r.StatusCode, err, tt.wantStatus, r.Body)
			}
			if n := count(t, s); n != before {
				t.Fatalf("refused body changed the table: %d items, was %d", n, before)
			}
		})
	}
	// The control: the same handler and table do write a good body.
	if r, _ := h.Handle(context.Background(), strictEvent(t, "application/json; charset=utf-8", `{"type":"emu","price":3}`)); r.StatusCode != 201 || count(t, s) == before {
		t.Fatalf("a good body was not stored: %d %s", r.StatusCode, r.Body)
	}
}
