/**
 * Telegram's limits as a clock-driven gate (per bot and per chat): about one
 * message a second in one chat, 20 a minute in one group, 30 a second per
 * bot. `reserve` finds the earliest moment a message may go and, when that is
 * within the caller's `withinMs`, books it: each waiting sender gets its own
 * slot, in order, so a burst to one chat is paced instead of every sender
 * waking at the same instant to race for the next one. A 429 `retry_after`
 * blocks the chat until then. No timers: the caller waits (a short sleep or a
 * delayed queue message), so tests drive it with a fake clock.
 */

export interface RateGateOptions {
  now: () => number;
  /** Minimum gap between two messages in one chat, ms. Default 1000. */
  chatGapMs?: number;
  /** Messages per minute in one group. Default 20. */
  groupPerMinute?: number;
  /** Messages per second per bot across chats. Default 30. */
  botPerSecond?: number;
  /**
   * The windows of the two limits above, ms (defaults 60,000 and 1,000). Only the benchmark changes
   * them: Telegram's limits with time compressed, so a backlog at the floor takes seconds, not an hour.
   */
  groupWindowMs?: number;
  botWindowMs?: number;
}

export class RateGate {
  readonly #now: () => number;
  readonly #chatGapMs: number;
  readonly #groupPerMinute: number;
  readonly #botPerSecond: number;
  readonly #groupWindowMs: number;
  readonly #botWindowMs: number;
  readonly #chatNext = new Map<string, number>();
  readonly #groupSent = new Map<string, number[]>();
  readonly #botSent = new Map<string, number[]>();

  constructor(
    { now, chatGapMs = 1000, groupPerMinute = 20, botPerSecond = 30, groupWindowMs = 60_000, botWindowMs = 1000 }:
      RateGateOptions,
  ) {
    this.#now = now;
    this.#groupWindowMs = groupWindowMs;
    this.#botWindowMs = botWindowMs;
    this.#chatGapMs = chatGapMs;
    this.#groupPerMinute = groupPerMinute;
    this.#botPerSecond = botPerSecond;
  }

  /**
   * The wait before one message may go to `chat` through `bot`. When it is at most `withinMs`, the slot
   * is booked (`booked: true`: sleep `wait`, then send); otherwise nothing is taken (try again after `wait`).
   */
  reserve(
    bot: string,
    chat: string,
    { group, withinMs = 0 }: { group: boolean; withinMs?: number },
  ): { wait: number; booked: boolean } {
    const now = this.#now();
    let at = Math.max(now, this.#chatNext.get(chat) ?? 0);
    const groupList = prune(this.#groupSent.get(chat), now - this.#groupWindowMs);
    // Booked slots count too: at most limit - 1 of them may lie in the window before `at`.
    if (group && this.#groupPerMinute > 0 && groupList.length >= this.#groupPerMinute) {
      at = Math.max(at, groupList[groupList.length - this.#groupPerMinute] + this.#groupWindowMs);
    }
    const botList = prune(this.#botSent.get(bot), now - this.#botWindowMs);
    if (this.#botPerSecond > 0 && botList.length >= this.#botPerSecond) {
      at = Math.max(at, botList[botList.length - this.#botPerSecond] + this.#botWindowMs);
    }
    const wait = at - now;
    if (wait > withinMs) return { wait, booked: false };
    this.#chatNext.set(chat, at + this.#chatGapMs);
    if (group) this.#groupSent.set(chat, insertSorted(groupList, at));
    this.#botSent.set(bot, insertSorted(botList, at));
    return { wait, booked: true };
  }

  /** Telegram said `retry_after`: nothing goes to this chat before then. */
  block(chat: string, ms: number): void {
    const until = this.#now() + ms;
    this.#chatNext.set(chat, Math.max(this.#chatNext.get(chat) ?? 0, until));
  }
}

/** A copy of the ascending `list` with `t` in its place (slots of other chats may lie later). */
function insertSorted(list: number[], t: number): number[] {
  let i = list.length;
  while (i > 0 && list[i - 1] > t) i--;
  return [...list.slice(0, i), t, ...list.slice(i)];
}

function prune(list: number[] | undefined, after: number): number[] {
  if (!list) return [];
  let i = 0;
  while (i < list.length && list[i] <= after) i++;
  return i ? list.slice(i) : list;
}
