// Participant state as the UI shows it, and the documented sorting comparators and presets.

import type { CallParticipant, Reaction } from "./types";

export type Quality = "unknown" | "poor" | "good" | "excellent";

export interface Participant {
  sessionId: string;
  userId: string;
  name: string;
  image: string;
  role: string;
  isLocal: boolean;
  joinedAt: string;
  audio: boolean;
  video: boolean;
  screenShare: boolean;
  speaking: boolean;
  audioLevel: number;
  dominantSpeaker: boolean;
  pinnedForEveryone: boolean;
  pinnedLocally: boolean;
  reaction: Reaction | null;
  handRaised: boolean;
  quality: Quality;
  /** "webrtc" for browser and SDK peers; the other sources (RTMP, WHIP) arrive with the SFU. */
  source: string;
  videoStream: MediaStream | null;
  screenStream: MediaStream | null;
  audioStream: MediaStream | null;
}

export function fromCallParticipant(p: CallParticipant, localSessionId: string): Participant {
  return {
    sessionId: p.user_session_id,
    userId: p.user.id,
    name: p.user.name || p.user.id,
    image: p.user.image ?? "",
    role: p.role,
    isLocal: p.user_session_id === localSessionId,
    joinedAt: p.joined_at,
    audio: false,
    video: false,
    screenShare: false,
    speaking: false,
    audioLevel: 0,
    dominantSpeaker: false,
    pinnedForEveryone: false,
    pinnedLocally: false,
    reaction: null,
    handRaised: false,
    quality: "unknown",
    source: "webrtc",
    videoStream: null,
    screenStream: null,
    audioStream: null,
  };
}

/** A standard comparator: negative puts `a` first (the seed's wording of the sign is ambiguous; Weir uses JS's). */
export type Comparator = (a: Participant, b: Participant) => number;

const first =
  (test: (p: Participant) => boolean): Comparator =>
  (a, b) =>
    Number(test(b)) - Number(test(a));

export const dominantSpeaker = first((p) => p.dominantSpeaker);
export const speaking = first((p) => p.speaking);
export const screenSharing = first((p) => p.screenShare);
export const publishingVideo = first((p) => p.video);
export const publishingAudio = first((p) => p.audio);
export const pinned = first((p) => p.pinnedLocally || p.pinnedForEveryone);
export const reactionType = (type: string): Comparator => first((p) => p.reaction?.type === type);
export const byRole = (...roles: string[]): Comparator => first((p) => roles.includes(p.role));
export const byName: Comparator = (a, b) => a.name.localeCompare(b.name) || a.sessionId.localeCompare(b.sessionId);
export const byParticipantSource = (...sources: string[]): Comparator => first((p) => sources.includes(p.source));

export function combineComparators(...comparators: Comparator[]): Comparator {
  return (a, b) => {
    for (const comparator of comparators) {
      const result = comparator(a, b);
      if (result !== 0) return result;
    }
    return 0;
  };
}

/** The documented presets; their composition is Weir's (the seed names them without listing it). */
export const SortingPresets = {
  /** Grid: stable tiles, pinned and sharing first. */
  regular: combineComparators(pinned, screenSharing, publishingVideo, publishingAudio, byName),
  /** Spotlight: whoever speaks comes first. */
  speaker: combineComparators(
    pinned,
    screenSharing,
    dominantSpeaker,
    speaking,
    publishingVideo,
    publishingAudio,
    byName,
  ),
  /** Livestreams and audio rooms: hosts and speakers first. */
  livestreamOrAudioRoom: combineComparators(
    byRole("admin", "host", "speaker"),
    dominantSpeaker,
    speaking,
    publishingVideo,
    publishingAudio,
    byName,
  ),
};

export type Layout = "grid" | "spotlight";

export function presetFor(layout: Layout, callType: string): Comparator {
  if (callType === "livestream" || callType === "audio_room") return SortingPresets.livestreamOrAudioRoom;
  return layout === "grid" ? SortingPresets.regular : SortingPresets.speaker;
}
