// Keeps the message list at its end while an answer grows, unless the reader has scrolled
// up; then a "Jump to latest" button brings them back.

// Within this distance of the bottom the list keeps following a streaming answer.
const FOLLOW_THRESHOLD_PX = 48;

export class FollowScroll {
  /** @param {HTMLElement} scroller @param {HTMLButtonElement} jumpButton */
  constructor(scroller, jumpButton) {
    this.scroller = scroller;
    this.jumpButton = jumpButton;
    this.following = true;

    scroller.addEventListener("scroll", () => this.onScroll(), { passive: true });
    // The list area shrinks when the composer grows or the keyboard opens: stay at the end.
    new ResizeObserver(() => {
      if (this.following) this.toEnd();
    }).observe(scroller);
    jumpButton.addEventListener("click", () => this.scrollToLatest());
  }

  /** Content was added: follow it, or offer the jump when the reader is elsewhere. */
  keepFollowing() {
    if (this.following) this.toEnd();
    else this.jumpButton.hidden = false;
  }

  scrollToLatest() {
    this.toEnd();
    this.following = true;
    this.jumpButton.hidden = true;
  }

  toEnd() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  onScroll() {
    const { scrollHeight, scrollTop, clientHeight } = this.scroller;
    this.following = scrollHeight - scrollTop - clientHeight <= FOLLOW_THRESHOLD_PX;
    this.jumpButton.hidden = this.following;
  }
}
