package pets

import (
	"context"
	"sort"
	"sync"
)

// memStore is a Store in memory, with injectable failures, for handler tests.
type memStore struct {
	mu   sync.Mutex
	pets map[int64]Pet
	idem map[string]struct {
		id   int64
		hash string
	}
	seq    int64
	fail   error // returned by every call when set
	writes int
}

func newMemStore() *memStore {
	m := &memStore{pets: map[int64]Pet{}, idem: map[string]struct {
		id   int64
		hash string
	}{}}
	for _, p := range []Pet{{1, "dog", 249.99, "seed"}, {2, "cat", 124.99, "seed"}, {3, "fish", 0.99, "seed"}} {
		m.pets[p.ID] = p
	}
	m.seq = 3
	return m
}

func (m *memStore) Create(_ context.Context, in NewPet, by string, idem *Idempotency) (Pet, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return Pet{}, false, m.fail
	}
	if idem != nil {
		if r, ok := m.idem[by+"\x00"+idem.Key]; ok {
			if r.hash != idem.BodyHash {
				return Pet{}, false, ErrKeyReused
			}
			return m.pets[r.id], true, nil
		}
	}
	m.seq++
	m.writes++
	p := Pet{ID: m.seq, Type: in.Type, Price: in.Price, CreatedBy: by}
	m.pets[p.ID] = p
	if idem != nil {
		m.idem[by+"\x00"+idem.Key] = struct {
			id   int64
			hash string
		}{p.ID, idem.BodyHash}
	}
	return p, false, nil
}

func (m *memStore) Get(_ context.Context, id int64) (Pet, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return Pet{}, m.fail
	}
	p, ok := m.pets[id]
	if !ok {
		return Pet{}, ErrNotFound
	}
	return p, nil
}

func (m *memStore) List(_ context.Context, q ListQuery) ([]Pet, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, 0, m.fail
	}
	var all []Pet
	for _, p := range m.pets {
		if p.ID > q.After && (q.Type == "" || p.Type == q.Type) {
			all = append(all, p)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	if len(all) > q.Limit {
		return all[:q.Limit], all[q.Limit-1].ID, nil
	}
	return all, 0, nil
}
