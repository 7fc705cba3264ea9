package queues

import "math/rand/v2"

// slotTree is an ordered set of (active downloads, slot name) pairs: a treap.
// The downloader-aware queue keeps its slots here when it counts active
// downloads itself, so that choosing the least busy slot, with ties rotated by
// name, costs O(log slots) instead of a scan of every slot.
type slotTree struct {
	root *slotNode
	rng  *rand.PCG
}

type slotNode struct {
	active      int
	slot        string
	pri         uint64
	left, right *slotNode
}

func newSlotTree() *slotTree { return &slotTree{rng: rand.NewPCG(1, 2)} }

func less(a1 int, s1 string, a2 int, s2 string) bool {
	if a1 != a2 {
		return a1 < a2
	}
	return s1 < s2
}

func (t *slotTree) insert(active int, slot string) {
	t.root = t.ins(t.root, &slotNode{active: active, slot: slot, pri: t.rng.Uint64()})
}

func (t *slotTree) ins(n, x *slotNode) *slotNode {
	if n == nil {
		return x
	}
	if less(x.active, x.slot, n.active, n.slot) {
		n.left = t.ins(n.left, x)
		if n.left.pri > n.pri {
			l := n.left
			n.left, l.right = l.right, n
			return l
		}
	} else {
		n.right = t.ins(n.right, x)
		if n.right.pri > n.pri {
			r := n.right
			n.right, r.left = r.left, n
			return r
		}
	}
	return n
}

func (t *slotTree) remove(active int, slot string) {
	t.root = del(t.root, active, slot)
}

func del(n *slotNode, active int, slot string) *slotNode {
	if n == nil {
		return nil
	}
	switch {
	case n.active == active && n.slot == slot:
		return merge(n.left, n.right)
	case less(active, slot, n.active, n.slot):
		n.left = del(n.left, active, slot)
	default:
		n.right = del(n.right, active, slot)
	}
	return n
}

func merge(a, b *slotNode) *slotNode {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.pri > b.pri:
		a.right = merge(a.right, b)
		return a
	default:
		b.left = merge(a, b.left)
		return b
	}
}

func (t *slotTree) min() *slotNode {
	n := t.root
	if n == nil {
		return nil
	}
	for n.left != nil {
		n = n.left
	}
	return n
}

// after returns the smallest node strictly greater than (active, slot), or nil.
func (t *slotTree) after(active int, slot string) *slotNode {
	var best *slotNode
	for n := t.root; n != nil; {
		if less(active, slot, n.active, n.slot) {
			best = n
			n = n.left
		} else {
			n = n.right
		}
	}
	return best
}
