// Package petdata is the PetStore table's shape, shared by the stack (table,
// indexes, seed custom resource) and the petstore Lambda (its queries), so
// the two cannot disagree. No dependencies on purpose: the infra imports it.
package petdata

import "strconv"

// Attribute and index names of the table.
const (
	// PK is the table's partition key (string): "PET#<id>", "COUNTER", "IDEM#<hash>".
	PK = "pk"
	// ID is a pet's numeric id.
	ID = "id"
	// Type is a pet's type, lower case; partition key of ByType.
	Type = "type"
	// Price is a pet's price, a number.
	Price = "price"
	// Kind is "pet" on pets only; partition key of ByKind, so listing is a Query in id order.
	Kind = "kind"
	// CreatedBy is the authorizer principal that created the pet.
	CreatedBy = "createdBy"
	// CreatedAt is an RFC 3339 timestamp.
	CreatedAt = "createdAt"
	// Seq is the counter item's last issued id.
	Seq = "seq"
	// ExpiresAt is the TTL attribute (epoch seconds) of idempotency records.
	ExpiresAt = "expiresAt"

	// ByType lists pets of one type in id order.
	ByType = "byType"
	// ByKind lists all pets in id order.
	ByKind = "byKind"

	// KindPet is the Kind value of pets.
	KindPet = "pet"
	// CounterPK is the key of the id counter item.
	CounterPK = "COUNTER"
	// SeedCreator is the createdBy of the example pets.
	SeedCreator = "seed"
)

// PetPK is the table key of pet id.
func PetPK(id int64) string { return "PET#" + strconv.FormatInt(id, 10) }

// IdempotencyPK is the table key of an idempotency record.
func IdempotencyPK(hash string) string { return "IDEM#" + hash }

// SeedPet is one of API Gateway's example pets.
type SeedPet struct {
	ID    int64
	Type  string
	Price string
}

// Seed are the pets of API Gateway's PetStore example, present after deploy.
var Seed = []SeedPet{{1, "dog", "249.99"}, {2, "cat", "124.99"}, {3, "fish", "0.99"}}

// SeedItems are the seed pets and the counter as DynamoDB JSON items, ready
// for a BatchWriteItem: what the stack's custom resource and the local run write.
func SeedItems() []map[string]map[string]string {
	items := make([]map[string]map[string]string, 0, len(Seed)+1)
	var last int64
	for _, p := range Seed {
		items = append(items, map[string]map[string]string{
			PK:        {"S": PetPK(p.ID)},
			ID:        {"N": strconv.FormatInt(p.ID, 10)},
			Type:      {"S": p.Type},
			Price:     {"N": p.Price},
			Kind:      {"S": KindPet},
			CreatedBy: {"S": SeedCreator},
		})
		last = max(last, p.ID)
	}
	return append(items, map[string]map[string]string{
		PK:  {"S": CounterPK},
		Seq: {"N": strconv.FormatInt(last, 10)},
	})
}
