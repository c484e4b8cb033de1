// One participant (the seed's StreamCallParticipant): video or avatar, name, mute state, speaker highlight,
// connection quality, pin, and the latest reaction.

import { useEffect, useRef } from "preact/hooks";
import type { Participant } from "../weir/participants";
import type { TrackKind } from "../weir/session";
import { Avatar } from "./Avatar";
import { t } from "./i18n";
import { emojiFor } from "./reactions";
import { Video } from "./Video";
import { Icon } from "./Icon";

interface Props {
  participant: Participant;
  kind?: TrackKind;
  /** Reports the rendered size (for subscriptions), or null once the tile is gone. */
  onSize?: (participant: Participant, kind: TrackKind, size: { width: number; height: number } | null) => void;
}

export function ParticipantTile({ participant: p, kind = "video", onSize }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const screen = kind === "screen_share";
  useEffect(() => {
    const element = ref.current;
    if (!element || !onSize) return;
    const observer = new ResizeObserver(([entry]) => {
      const { width, height } = entry.contentRect;
      onSize(p, kind, { width: Math.round(width), height: Math.round(height) });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      onSize(p, kind, null);
    };
  }, [p.sessionId, kind, onSize]);

  const stream = screen ? p.screenStream : p.video ? p.videoStream : null;
  const classes = ["tile", screen ? "screen" : "", p.speaking ? "speaking" : "", p.dominantSpeaker ? "dominant" : ""];
  return (
    <div
      ref={ref}
      class={classes.filter(Boolean).join(" ")}
      data-testid={screen ? "screen-share-tile" : "participant-tile"}
      data-session-id={p.sessionId}
      data-user-id={p.userId}
      data-local={String(p.isLocal)}
      data-speaking={String(p.speaking)}
      data-dominant={String(p.dominantSpeaker)}
    >
      {stream ? (
        <Video
          stream={stream}
          mirror={p.isLocal && !screen}
          fit={screen ? "contain" : "cover"}
          testid={screen ? "screen-video" : "participant-video"}
        />
      ) : (
        <div class="placeholder">
          <Avatar id={p.userId} name={p.name} image={p.image} size="lg" />
        </div>
      )}
      <div class="label">
        {!screen && (
          <span
            class={`mic ${p.audio ? "on" : "off"}`}
            data-testid="mic-indicator"
            data-muted={String(!p.audio)}
            title={p.audio ? "" : t("call.muted")}
          >
            <Icon name={p.audio ? "mic" : "micOff"} />
          </span>
        )}
        {!screen && !p.video && (
          <span data-testid="camera-off-indicator" title={t("call.cameraOff")}>
            <Icon name="cameraOff" />
          </span>
        )}
        <span class="name" data-testid="participant-name">
          {screen ? t("call.screenOf", { name: p.name }) : p.isLocal ? t("call.you", { name: p.name }) : p.name}
        </span>
        {(p.pinnedForEveryone || p.pinnedLocally) && (
          <span data-testid="pinned-indicator" title={t("call.pinned")}>
            <Icon name="pin" />
          </span>
        )}
        {!screen && <QualityBars quality={p.quality} />}
      </div>
      {!screen && p.reaction && (
        <div class="reaction" data-testid="reaction" data-reaction-type={p.reaction.type}>
          {emojiFor(p.reaction)}
        </div>
      )}
    </div>
  );
}

const LEVELS = { unknown: 0, poor: 1, good: 2, excellent: 3 };

function QualityBars({ quality }: { quality: Participant["quality"] }) {
  const level = LEVELS[quality];
  return (
    <span class={`quality q${level}`} data-testid="connection-quality" data-quality={quality} title={quality}>
      {[1, 2, 3].map((bar) => (
        <i key={bar} class={bar <= level ? "lit" : ""} />
      ))}
    </span>
  );
}
