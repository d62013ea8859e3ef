// A localStorage stand-in for node tests; `full` makes every write fail as a full storage does.

export class FakeStorage {
  constructor(initial = {}) {
    this.items = new Map(Object.entries(initial));
    this.full = false;
  }
  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }
  setItem(key, value) {
    if (this.full) throw new DOMException("quota", "QuotaExceededError");
    this.items.set(key, String(value));
  }
  removeItem(key) {
    this.items.delete(key);
  }
}
