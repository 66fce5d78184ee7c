// The discrete-event loop's agenda: a binary min-heap on (time, insertion order), so events at the
// same virtual millisecond run in the order they were scheduled and every run is reproducible.
export class EventQueue {
  #times = [];
  #order = [];
  #events = [];
  #scheduled = 0;

  get size() {
    return this.#events.length;
  }

  at(time, event) {
    const times = this.#times;
    const order = this.#order;
    const events = this.#events;
    let i = events.length;
    const seq = this.#scheduled++;
    times.push(time);
    order.push(seq);
    events.push(event);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent] < time || (times[parent] === time && order[parent] < seq)) break;
      times[i] = times[parent];
      order[i] = order[parent];
      events[i] = events[parent];
      i = parent;
    }
    times[i] = time;
    order[i] = seq;
    events[i] = event;
  }

  /** The earliest event's time (call only when size > 0). */
  peekTime() {
    return this.#times[0];
  }

  pop() {
    const times = this.#times;
    const order = this.#order;
    const events = this.#events;
    const top = events[0];
    const lastTime = times.pop();
    const lastSeq = order.pop();
    const last = events.pop();
    const n = events.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        let child = left;
        if (right < n && (times[right] < times[left] || (times[right] === times[left] && order[right] < order[left]))) child = right;
        if (lastTime < times[child] || (lastTime === times[child] && lastSeq < order[child])) break;
        times[i] = times[child];
        order[i] = order[child];
        events[i] = events[child];
        i = child;
      }
      times[i] = lastTime;
      order[i] = lastSeq;
      events[i] = last;
    }
    return top;
  }
}
