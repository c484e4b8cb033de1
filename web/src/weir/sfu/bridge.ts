// From the SFU's view of the call to the UI's participants, and from the tiles on screen to subscriptions.

import type { Participant, Quality } from "../participants";
import type { MediaView } from "./connection";
import type { Participant as SfuParticipant, TrackSubscription, TrackType } from "./protocol.gen";

export interface Tile {
  sessionId: string;
  kind: "video" | "screen_share";
  width: number;
  height: number;
}

const QUALITY: Record<SfuParticipant["connection_quality"], Quality> = {
  unspecified: "unknown",
  poor: "poor",
  good: "good",
  excellent: "excellent",
};

/** A participant with the SFU's media state (what they publish, speaking, quality) and their remote streams. */
export function withMedia(p: Participant, media: MediaView): Participant {
  const state = media.participants.get(p.sessionId);
  if (!state) return p;
  const live = {
    speaking: state.is_speaking,
    dominantSpeaker: state.is_dominant_speaker,
    audioLevel: state.audio_level,
    quality: QUALITY[state.connection_quality],
  };
  if (p.isLocal) return { ...p, ...live };
  const has = (type: TrackType) => state.published_tracks.includes(type);
  const stream = (type: TrackType) => (has(type) ? (media.streams.get(`${p.sessionId}:${type}`) ?? null) : null);
  return {
    ...p,
    ...live,
    audio: has("audio"),
    video: has("video"),
    screenShare: has("screen_share"),
    pinnedForEveryone: p.pinnedForEveryone || state.pin !== null,
    source: state.source,
    audioStream: stream("audio"),
    videoStream: stream("video"),
    screenStream: stream("screen_share"),
  };
}

/** Every published audio track, and the video of the tiles on screen at their size in device pixels. */
export function subscriptions(
  media: MediaView,
  tiles: Iterable<Tile>,
  self: string,
  pixelRatio: number,
): TrackSubscription[] {
  const wanted: TrackSubscription[] = [];
  for (const p of media.participants.values()) {
    if (p.session_id === self) continue;
    for (const type of ["audio", "screen_share_audio"] as const) {
      if (p.published_tracks.includes(type)) wanted.push({ session_id: p.session_id, track_type: type });
    }
  }
  for (const tile of tiles) {
    const p = media.participants.get(tile.sessionId);
    if (!p || tile.sessionId === self || !p.published_tracks.includes(tile.kind)) continue;
    const dimension = { width: Math.round(tile.width * pixelRatio), height: Math.round(tile.height * pixelRatio) };
    wanted.push({ session_id: tile.sessionId, track_type: tile.kind, dimension });
  }
  return wanted.sort((a, b) => `${a.session_id}:${a.track_type}`.localeCompare(`${b.session_id}:${b.track_type}`));
}
