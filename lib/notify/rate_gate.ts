/**
 * Telegram's limits as a clock-driven gate (per bot and per chat): about one
 * message a second in one chat, 20 a minute in one group, 30 a second per
 * bot. `reserve` either takes a slot now (0) or says how long to wait; a 429
 * `retry_after` blocks the chat until then. No timers: the caller waits (a
 * short sleep or a delayed queue message), so tests drive it with a fake clock.
 */

export interface RateGateOptions {
  now: () => number;
  /** Minimum gap between two messages in one chat, ms. Default 1000. */
  chatGapMs?: number;
  /** Messages per minute in one group. Default 20. */
  groupPerMinute?: number;
  /** Messages per second per bot across chats. Default 30. */
  botPerSecond?: number;
}

export class RateGate {
  readonly #now: () => number;
  readonly #chatGapMs: number;
  readonly #groupPerMinute: number;
  readonly #botPerSecond: number;
  readonly #chatNext = new Map<string, number>();
  readonly #groupSent = new Map<string, number[]>();
  readonly #botSent = new Map<string, number[]>();

  constructor({ now, chatGapMs = 1000, groupPerMinute = 20, botPerSecond = 30 }: RateGateOptions) {
    this.#now = now;
    this.#chatGapMs = chatGapMs;
    this.#groupPerMinute = groupPerMinute;
    this.#botPerSecond = botPerSecond;
  }

  /** Takes a slot for one message (returns 0) or returns the ms to wait (nothing taken). */
  reserve(bot: string, chat: string, { group }: { group: boolean }): number {
    const now = this.#now();
    const waits = [Math.max(0, (this.#chatNext.get(chat) ?? 0) - now)];
    const groupList = prune(this.#groupSent.get(chat), now - 60_000);
    if (group && this.#groupPerMinute > 0 && groupList.length >= this.#groupPerMinute) {
      waits.push(groupList[groupList.length - this.#groupPerMinute] + 60_000 - now);
    }
    const botList = prune(this.#botSent.get(bot), now - 1000);
    if (this.#botPerSecond > 0 && botList.length >= this.#botPerSecond) {
      waits.push(botList[botList.length - this.#botPerSecond] + 1000 - now);
    }
    const wait = Math.max(...waits);
    if (wait > 0) return wait;
    this.#chatNext.set(chat, now + this.#chatGapMs);
    if (group) this.#groupSent.set(chat, [...groupList, now]);
    this.#botSent.set(bot, [...botList, now]);
    return 0;
  }

  /** Telegram said `retry_after`: nothing goes to this chat before then. */
  block(chat: string, ms: number): void {
    const until = this.#now() + ms;
    this.#chatNext.set(chat, Math.max(this.#chatNext.get(chat) ?? 0, until));
  }
}

function prune(list: number[] | undefined, after: number): number[] {
  if (!list) return [];
  let i = 0;
  while (i < list.length && list[i] <= after) i++;
  return i ? list.slice(i) : list;
}
