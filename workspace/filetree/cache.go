package filetree

import (
	"container/list"
	"sync"
)

// DefaultCacheBytes is the budget of a [Cache] made with zero bytes.
const DefaultCacheBytes = 256 << 20

// Cache bounds the memory of the trees that share it: when their listings
// together pass the budget, the least recently used are dropped (and read
// again when next listed). The tree in use is never dropped for its own
// sake, so one tree larger than the budget still works.
//
// Methods are safe for concurrent use.
type Cache struct {
	max int64

	mu    sync.Mutex
	used  int64
	lru   *list.List // of *cached, most recent first
	index map[*Tree]*list.Element
}

type cached struct {
	t     *Tree
	bytes int64
}

// NewCache returns a cache holding at most maxBytes of listings; zero or
// less means [DefaultCacheBytes].
func NewCache(maxBytes int64) *Cache {
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	return &Cache{max: maxBytes, lru: list.New(), index: map[*Tree]*list.Element{}}
}

// Used returns the bytes the cached listings hold now.
func (c *Cache) Used() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

// touch records that t, holding bytes, was just used, and drops the least
// recently used others while the total is over budget. It must be called
// without t's lock held: dropping a tree takes that tree's lock.
func (c *Cache) touch(t *Tree, bytes int64) {
	var evict []*Tree
	c.mu.Lock()
	if el, ok := c.index[t]; ok {
		e := el.Value.(*cached)
		c.used += bytes - e.bytes
		e.bytes = bytes
		c.lru.MoveToFront(el)
	} else {
		c.index[t] = c.lru.PushFront(&cached{t: t, bytes: bytes})
		c.used += bytes
	}
	for c.used > c.max {
		el := c.lru.Back()
		e := el.Value.(*cached)
		if e.t == t {
			break
		}
		c.lru.Remove(el)
		delete(c.index, e.t)
		c.used -= e.bytes
		evict = append(evict, e.t)
	}
	c.mu.Unlock()
	for _, old := range evict {
		old.evict()
	}
}

// forget removes t from the cache.
func (c *Cache) forget(t *Tree) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.index[t]; ok {
		c.used -= el.Value.(*cached).bytes
		c.lru.Remove(el)
		delete(c.index, t)
	}
}
