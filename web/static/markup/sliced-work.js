// Work on answer elements that needs a module loaded on first use (highlight.js, KaTeX) and
// may be long (many code blocks in a long answer): the module is imported when the first
// item comes, then items are handled a few milliseconds at a time, yielding to the page
// between slices, so that no task holds the main thread.

const SLICE_MS = 6;

export class SlicedWork {
  /**
   * @param {() => Promise<object>} load imports the module (once)
   * @param {(module: object, item: any) => void} handle does the work for one item
   */
  constructor(load, handle) {
    this.load = load;
    this.handle = handle;
    this.module = null;
    this.loading = null;
    this.items = [];
    this.scheduled = false;
  }

  add(item) {
    this.items.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    if (this.module) {
      setTimeout(() => this.work());
      return;
    }
    this.loading ??= this.load().then((module) => {
      this.module = module;
    });
    this.loading.then(
      () => setTimeout(() => this.work()),
      () => {
        // Without the module the elements stay as they are: plain code, the TeX source.
        this.items = [];
        this.scheduled = false;
      },
    );
  }

  work() {
    const deadline = performance.now() + SLICE_MS;
    let done = 0;
    while (done < this.items.length && performance.now() < deadline) {
      this.handle(this.module, this.items[done]);
      done += 1;
    }
    this.items.splice(0, done);
    if (this.items.length > 0) setTimeout(() => this.work());
    else this.scheduled = false;
  }
}
