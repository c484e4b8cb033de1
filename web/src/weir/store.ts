// A tiny observable: the UI subscribes to a state object and re-renders when it changes.

export type Listener<T> = (value: T) => void;

export class Store<T> {
  private listeners = new Set<Listener<T>>();

  constructor(private value: T) {}

  get(): T {
    return this.value;
  }

  set(value: T): void {
    this.value = value;
    for (const listener of [...this.listeners]) listener(value);
  }

  update(change: (value: T) => T): void {
    this.set(change(this.value));
  }

  subscribe(listener: Listener<T>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Listeners keyed by event type, "*" for all. */
export class Emitter<E extends { type: string }> {
  private listeners = new Map<string, Set<Listener<E>>>();

  on(type: string, listener: Listener<E>): () => void {
    const set = this.listeners.get(type) ?? new Set();
    set.add(listener);
    this.listeners.set(type, set);
    return () => set.delete(listener);
  }

  emit(event: E): void {
    for (const key of [event.type, "*"]) {
      for (const listener of [...(this.listeners.get(key) ?? [])]) listener(event);
    }
  }
}
