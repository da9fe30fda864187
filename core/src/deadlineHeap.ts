/**
 * The binary min-heap of deadlines behind each edition's attempt timeouts (one timer per client
 * instead of one per attempt): entries ordered by `deadline` (monotonic milliseconds), each
 * knowing its own position so that an attempt that ends first removes its entry in O(log n).
 * Pure bookkeeping: the timer that sleeps until the earliest deadline is each edition's.
 *
 * @internal
 */

/** What the heap holds: a deadline and the entry's position (-1 once removed or fired). @internal */
export interface HeapEntry {
  readonly deadline: number
  index: number
}

/** @internal */
export class DeadlineHeap<E extends HeapEntry> {
  readonly items: Array<E> = []

  /** The entry with the earliest deadline, if any. */
  peek(): E | undefined {
    return this.items[0]
  }

  push(entry: E): void {
    entry.index = this.items.length
    this.items.push(entry)
    this.up(entry.index)
  }

  /** Removes `entry`; a no-op when it was removed already. */
  remove(entry: E): void {
    const index = entry.index
    if (index < 0) return
    entry.index = -1
    const last = this.items.pop()!
    if (index === this.items.length) return
    this.items[index] = last
    last.index = index
    this.down(index)
    this.up(last.index)
  }

  private swap(i: number, j: number): void {
    const a = this.items[i]!
    const b = this.items[j]!
    this.items[i] = b
    this.items[j] = a
    a.index = j
    b.index = i
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.items[parent]!.deadline <= this.items[i]!.deadline) return
      this.swap(i, parent)
      i = parent
    }
  }

  private down(i: number): void {
    const n = this.items.length
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < n && this.items[left]!.deadline < this.items[smallest]!.deadline) smallest = left
      if (right < n && this.items[right]!.deadline < this.items[smallest]!.deadline) smallest = right
      if (smallest === i) return
      this.swap(i, smallest)
      i = smallest
    }
  }
}
