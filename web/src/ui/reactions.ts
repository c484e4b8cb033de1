// The reactions the controls offer, and how a received reaction is drawn.

import type { Reaction } from "../weir/types";

export interface ReactionChoice {
  type: string;
  emojiCode: string;
  emoji: string;
}

export const REACTIONS: ReactionChoice[] = [
  { type: "like", emojiCode: ":like:", emoji: "👍" },
  { type: "heart", emojiCode: ":heart:", emoji: "❤️" },
  { type: "laugh", emojiCode: ":laughing:", emoji: "😂" },
  { type: "fireworks", emojiCode: ":tada:", emoji: "🎉" },
  { type: "raise-hand", emojiCode: ":raise-hand:", emoji: "✋" },
];

const BY_CODE = new Map(REACTIONS.map((r) => [r.emojiCode, r.emoji]));
const BY_TYPE = new Map(REACTIONS.map((r) => [r.type, r.emoji]));

export function emojiFor(reaction: Reaction): string {
  return BY_CODE.get(reaction.emoji_code ?? "") ?? BY_TYPE.get(reaction.type) ?? "⭐";
}
